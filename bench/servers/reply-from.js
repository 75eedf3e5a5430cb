// The off-the-shelf Node proxy: Fastify + @fastify/reply-from, no authentication,
// with the same undici settings and pass-through body parser as tokengate's proxy.
import replyFrom from '@fastify/reply-from'
import Fastify from 'fastify'

const app = Fastify({ logger: false })
await app.register(replyFrom, {
  base: process.env.UPSTREAM_URL,
  undici: { connections: 128, pipelining: 1, keepAliveTimeout: 30_000 }
})
app.removeAllContentTypeParsers()
app.addContentTypeParser('*', (_request, _payload, done) => { done(null) })
app.all('/*', (request, reply) => reply.from(request.url))
await app.listen({ port: Number(process.env.PORT), host: '127.0.0.1' })
process.on('SIGTERM', () => { app.close().then(() => process.exit(0)) })
