/** Paths pino censors in every log line: no credential is ever written, by the app or the cluster primary. */
export const LOG_REDACT = ['req.headers.authorization', 'req.headers.cookie', 'headers.authorization']
