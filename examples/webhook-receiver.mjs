// A webhook receiver for trying hookbridge out: prints every request it gets and answers 200.
// Usage: node examples/webhook-receiver.mjs [port]   (default 9000)
import { createServer } from 'node:http'

const port = Number(process.argv[2] ?? 9000)
createServer((req, res) => {
  const chunks = []
  req.on('data', (chunk) => chunks.push(chunk))
  req.on('end', () => {
    const topic = req.headers['x-hookbridge-topic'] ?? ''
    console.log(`${req.method} ${req.url}  topic=${topic}  ${Buffer.concat(chunks).toString('utf8')}`)
    res.writeHead(200, { 'content-type': 'text/plain' }).end('ok')
  })
}).listen(port, '127.0.0.1', () => console.log(`webhook receiver listening on http://127.0.0.1:${port}`))
