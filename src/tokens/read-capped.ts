/** A response body as text, refusing to buffer more than `maxBytes` (a hostile or broken server cannot fill memory). */
export async function readCapped (body: AsyncIterable<Buffer>, maxBytes: number, what: string): Promise<string> {
  const chunks: Buffer[] = []
  let size = 0
  // Leaving the loop early (the throw) destroys the stream: nothing more is buffered.
  for await (const chunk of body) {
    size += chunk.length
    if (size > maxBytes) throw new Error(`${what} larger than ${maxBytes} bytes`)
    chunks.push(chunk)
  }
  return Buffer.concat(chunks).toString('utf8')
}
