// The intake baseline: the same Fastify route, answering at once with no signature check, no schema and
// no store. What the bridge adds on top of it is the price of verifying and committing a delivery.
import process from 'node:process';
import Fastify from 'fastify';

const app = Fastify({ logger: false, bodyLimit: 256 * 1024 });
app.removeAllContentTypeParsers();
app.addContentTypeParser('*', { parseAs: 'buffer' }, (_req, body, done) => done(null, body));
app.post('/webhooks/:source', async (_req, reply) => reply.code(202).send({ status: 'accepted' }));
await app.listen({ host: '127.0.0.1', port: Number(process.argv[2]) });
process.stdout.write('ready\n');
process.on('SIGTERM', () => void app.close().then(() => process.exit(0)));
