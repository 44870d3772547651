import { parseArgs } from 'node:util';
import { formatTable, progressBar, runCommand } from '../shared/cli/terminal';
import { LOCAL_WEBHOOK_SECRET } from '../shared/defaults';
import { type DeliveryResult, deliver, readDeliveries } from '../shared/replay/replay-deliveries';

const usage = `usage: npm run replay -- <payload.json | folder | file.jsonl>... [--url URL] [--secret S] [--event NAME] [--concurrency N]

Signs each payload like GitHub (X-Hub-Signature-256, X-GitHub-Delivery, X-GitHub-Event), posts it,
and prints the answer. Exits 1 if any delivery was not answered 2xx.
  --url          where to post (default http://127.0.0.1:3000/webhook, the npm start server)
  --secret       webhook secret (default $WEBHOOK_SECRET, else the local server's default)
  --event        X-GitHub-Event (default: inferred from each payload)
  --concurrency  deliveries in flight at once (default 1)`;

async function main(): Promise<number> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      url: { type: 'string', default: 'http://127.0.0.1:3000/webhook' },
      secret: { type: 'string' },
      event: { type: 'string' },
      concurrency: { type: 'string', default: '1' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help || positionals.length === 0) {
    console.log(usage);
    return values.help ? 0 : 2;
  }
  const concurrency = Number(values.concurrency);
  if (!Number.isInteger(concurrency) || concurrency < 1)
    throw new Error('--concurrency must be a whole number ≥ 1');
  const secret = values.secret ?? process.env.WEBHOOK_SECRET ?? LOCAL_WEBHOOK_SECRET;
  const deliveries = await readDeliveries(positionals, values.event);
  if (deliveries.length === 0) throw new Error(`no payloads found in ${positionals.join(', ')}`);

  const results: DeliveryResult[] = [];
  const many = deliveries.length > 1;
  const progress = progressBar(deliveries.length);
  let next = 0;
  const worker = async () => {
    while (next < deliveries.length) {
      const delivery = deliveries[next++];
      if (delivery === undefined) break;
      const result = await deliver(values.url, secret, delivery);
      results.push(result);
      if (!many) console.log(`${result.status} ${result.body}`);
      progress(results.length);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, deliveries.length) }, worker));

  if (many) {
    const byStatus = new Map<number, number>();
    for (const result of results) byStatus.set(result.status, (byStatus.get(result.status) ?? 0) + 1);
    console.log(`${results.length} deliveries to ${values.url}`);
    console.log(
      formatTable(
        [...byStatus].sort(([a], [b]) => a - b).map(([status, count]) => [`status ${status}`, count]),
      ),
    );
    for (const result of results.filter((r) => r.status < 200 || r.status > 299)) {
      console.log(`${result.delivery.source}: ${result.status} ${result.body}`);
    }
  }
  return results.every((result) => result.status >= 200 && result.status <= 299) ? 0 : 1;
}

runCommand('replay', usage, main);
