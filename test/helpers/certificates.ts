import { execFileSync } from 'node:child_process'
import { X509Certificate, createHash } from 'node:crypto'
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { Agent, fetch as undiciFetch } from 'undici'
import { tempDir } from './temp-dir.js'

interface Teardown { teardown: (fn: () => unknown) => void }

/** A certificate and its key as files and PEM text, and its RFC 8705 §3.1 thumbprint (x5t#S256). */
export interface CertificateFiles {
  readonly certFile: string
  readonly keyFile: string
  readonly cert: string
  readonly key: string
  /** base64url(SHA-256(DER)): the value of cnf x5t#S256 for tokens bound to it. */
  readonly thumbprint: string
  /** The DER, base64 (RFC 9440 Client-Cert, Traefik). */
  readonly derBase64: string
}

export interface TestPki {
  readonly dir: string
  /** A CA that signs the server's and `caSigned`'s certificates. */
  readonly ca: CertificateFiles
  /** The listener's certificate for 127.0.0.1 and localhost. */
  readonly server: CertificateFiles
  /** A client certificate signed by `ca`. */
  readonly caSigned: CertificateFiles
  /** Self-signed client certificates (RFC 8705 §2.2): any number, each its own key. */
  readonly selfSigned: (name: string) => CertificateFiles
}

function openssl (dir: string, args: string[]): void {
  execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' })
}

function files (dir: string, name: string): CertificateFiles {
  const certFile = join(dir, `${name}.crt`)
  const keyFile = join(dir, `${name}.key`)
  const cert = readFileSync(certFile, 'utf8')
  const der = new X509Certificate(cert).raw
  return { certFile, keyFile, cert, key: readFileSync(keyFile, 'utf8'), thumbprint: createHash('sha256').update(der).digest('base64url'), derBase64: der.toString('base64') }
}

const EC = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes']

/** Certificates made by the openssl CLI in a temp directory removed when the test ends. */
export function testPki (t: Teardown): TestPki {
  const dir = tempDir(t, 'tokengate-pki-')
  openssl(dir, ['req', '-x509', ...EC, '-keyout', 'ca.key', '-out', 'ca.crt', '-days', '2', '-subj', '/CN=tokengate test CA'])
  const signed = (name: string, subject: string, ext: string): void => {
    writeFileSync(join(dir, `${name}.ext`), ext)
    openssl(dir, ['req', ...EC, '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', subject])
    openssl(dir, ['x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-out', `${name}.crt`, '-days', '2', '-extfile', `${name}.ext`])
  }
  signed('server', '/CN=localhost', 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n')
  signed('client', '/CN=client-1', 'extendedKeyUsage=clientAuth\n')
  return {
    dir,
    ca: files(dir, 'ca'),
    server: files(dir, 'server'),
    caSigned: files(dir, 'client'),
    selfSigned: (name) => {
      openssl(dir, ['req', '-x509', ...EC, '-keyout', `${name}.key`, '-out', `${name}.crt`, '-days', '2', '-subj', `/CN=${name}`])
      return files(dir, name)
    }
  }
}

/** An answer over TLS: its JSON body (null when empty or not JSON) and its text. */
export interface TlsAnswer { readonly status: number, readonly headers: Headers, readonly body: any, readonly text: string }

/**
 * One HTTPS request trusting `ca`, presenting `cert` as the client certificate (null: none), on a
 * connection of its own: every request is a new TLS handshake, so each sends its own certificate.
 */
export async function fetchOverTls (url: string, ca: CertificateFiles, cert: CertificateFiles | null, init: { method?: string, headers?: Record<string, string>, body?: string } = {}): Promise<TlsAnswer> {
  const dispatcher = new Agent({ connect: { ca: ca.cert, ...(cert !== null && { cert: cert.cert, key: cert.key }) } })
  try {
    const res = await undiciFetch(url, { ...init, dispatcher })
    const text = await res.text()
    let body: unknown = null
    try { body = JSON.parse(text) } catch {}
    return { status: res.status, headers: res.headers as unknown as Headers, body, text }
  } finally {
    await dispatcher.close()
  }
}
