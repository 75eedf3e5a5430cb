// The ceiling: an empty 200 from Fastify, on the same Node and Fastify as tokengate.
import Fastify from 'fastify'

const app = Fastify({ logger: false })
app.all('/*', async (_request, reply) => reply.code(200).send())
await app.listen({ port: Number(process.env.PORT), host: '127.0.0.1' })
process.on('SIGTERM', () => { app.close().then(() => process.exit(0)) })
