import { type IncomingCall, SipStack, type TransportAddress, UserAgent } from '../../src/index.js';

const MEDIA_PORTS: Record<string, number> = { alice: 41000, bob: 42000, carol: 43000 };

/** A user agent on its own UDP stack on loopback, with the first lines of what it sends and gets. */
export async function agent(name: string, t1 = 50, auth?: { username: string; password: string }) {
  const stack = new SipStack({ listen: ['udp:127.0.0.1:0'], timers: { t1 } });
  const [address] = (await stack.start()) as [TransportAddress];
  const ua = new UserAgent(stack, {
    uri: `sip:${name}@127.0.0.1`,
    media: { port: MEDIA_PORTS[name] ?? 44000 },
    auth,
  });
  const trace: string[] = [];
  stack.onTrace((dir, data) => trace.push(`${dir} ${data.toString('latin1').split('\r\n')[0]}`));
  return { stack, ua, address, uri: `sip:${name}@127.0.0.1:${address.port}`, trace };
}

export type Agent = Awaited<ReturnType<typeof agent>>;

/** Makes the agent answer every call from now on; resolves with the first once it is answered. */
export function answering(a: Agent): Promise<IncomingCall> {
  return new Promise<IncomingCall>((resolve) =>
    a.ua.onCall((c) => {
      void c.answer().then(() => resolve(c));
    }),
  );
}

/** Runs `body` with an agent for each name, and stops them all afterwards. */
export async function withAgents<const N extends readonly string[], T>(
  names: N,
  body: (agents: { [K in keyof N]: Agent }) => Promise<T>,
): Promise<T> {
  const agents: Agent[] = [];
  try {
    for (const n of names) agents.push(await agent(n));
    return await body(agents as { [K in keyof N]: Agent });
  } finally {
    for (const a of agents) await a.stack.stop();
  }
}
