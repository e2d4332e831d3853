/**
 * The floor for cold start: a bare `node:http` server answering /health, started by the same
 * command line as the services (bench/coldStart.ts). Nothing loads before it can answer.
 */
import http from "node:http";

http
  .createServer((_req, res) => {
    res.writeHead(200, { "content-type": "application/json" }).end('{"status":"ok"}');
  })
  .listen(Number(process.env.PORT), process.env.HOST);
