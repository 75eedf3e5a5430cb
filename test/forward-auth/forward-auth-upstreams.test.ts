import fc from 'fast-check'
import t from 'tap'
import { nginxMissing, startNginx } from '../deploy/nginx.js'
import { startExpressUpstream } from '../helpers/express-upstream.js'
import { startFastifyUpstream } from '../helpers/fastify-upstream.js'
import { flaskMissing, startFlaskUpstream } from '../helpers/flask-upstream.js'
import { startGateway } from '../helpers/gateway.js'
import { ask, FILES, PROTECTED, routesFor, RULES, spelledAs, strongToken, weakToken, type Framework } from '../helpers/protected-routes.js'
import { lookalikes, segment, spellingsOf } from '../helpers/spellings.js'
import { tempFile } from '../helpers/temp-dir.js'

// Issue 16 item 1, forward-auth mode behind real nginx (deploy/nginx/tokengate.conf,
// auth_request): nginx forwards the URI as the client sent it, so the same
// spelling reaches an upstream that decodes the whole path (Flask/Werkzeug), one
// that routes the raw path (Express 5) and one that folds case with Unicode
// rules (Fastify `caseSensitive: false`). No spelling takes a token without the
// rule's scope or role to the protected handler, and clients that build paths
// with encodeURIComponent keep working.

const rules = tempFile(t, 'rules.json', RULES)
const table = lookalikes()
const spelled = fc.constantFrom(...PROTECTED).chain((p) => spellingsOf(p.path, table).map((target) => ({ p, target })))

interface Teardown { teardown: (fn: () => unknown) => void }
const UPSTREAMS: ReadonlyArray<{ framework: Framework, name: string, decodes: boolean, skip: string | false, start: (t: Teardown) => Promise<{ port: number }> }> = [
  { framework: 'flask', name: 'Flask (decodes the whole path)', decodes: true, skip: nginxMissing || flaskMissing, start: async (t) => await startFlaskUpstream(t, routesFor('flask')) },
  { framework: 'express', name: 'Express (routes the raw path)', decodes: false, skip: nginxMissing, start: async (t) => await startExpressUpstream(t, routesFor('express')) },
  {
    framework: 'fastify',
    name: 'Fastify caseSensitive: false',
    decodes: false,
    skip: nginxMissing,
    start: async (t) => {
      const api = await startFastifyUpstream(t, routesFor('fastify'), { caseSensitive: false })
      return { port: Number(new URL(api.url).port) }
    }
  }
]

async function stack (t: Teardown, start: (t: Teardown) => Promise<{ port: number }>): Promise<string> {
  const gw = await startGateway(t, { ACCESS_RULES_FILE: rules })
  const api = await start(t)
  const nginx = await startNginx(t, { tokengate: Number(new URL(gw.url).port), api: api.port })
  return nginx.url
}

for (const { framework, name, decodes, skip, start } of UPSTREAMS) {
  t.test(`forward-auth behind nginx, ${name}: no spelling takes a token without the scope or role to the protected handler`, { skip }, async (t) => {
    const url = await stack(t, start)
    const weak = weakToken()
    await fc.assert(fc.asyncProperty(spelled, async ({ p, target }) => {
      const answer = await ask(url, p.method, target, weak)
      return answer.route !== p[framework]
    }), {
      numRuns: 300,
      examples: [spelledAs(0, '/v1/accounts%3Aclose'), spelledAs(3, '/%E2%84%AAyc')]
    })
  })

  t.test(`forward-auth behind nginx, ${name}: an encodeURIComponent-built path with a valid token is allowed and decoded as decided`, { skip }, async (t) => {
    const url = await stack(t, start)
    const strong = strongToken()
    for (const p of PROTECTED) {
      const target = p.path.split('/').map(encodeURIComponent).join('/')
      const answer = await ask(url, p.method, target, strong)
      t.equal(answer.status, 200, `${target} allowed`)
      // A raw-routing upstream routes `%3A` apart from `:`: only a decoding one reaches the handler by the escaped spelling.
      if (decodes || target === p.path) t.equal(answer.route, p[framework], target)
    }
    await fc.assert(fc.asyncProperty(segment, async (name) => {
      const answer = await ask(url, 'GET', `/files/${encodeURIComponent(name)}?q=%2F`, strong)
      return answer.status === 200 && answer.route === FILES[framework] && answer.params.name === name
    }), { numRuns: 150 })
  })
}
