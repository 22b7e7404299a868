import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { parse } from 'graphql';
import { createSchema, createYoga } from 'graphql-yoga';
import { z } from 'zod';
import { createEventParser, createGate, createRegistry, route } from 'pokegate';
import { createInProcessBus } from 'pokegate/bus';
import { attachWebSocket } from 'pokegate/graphql';
import { createLiveClient, type TypedDocumentNode } from 'pokegate/client';

const NoteSet = z.object({ type: z.literal('NoteSet'), id: z.string(), text: z.string(), version: z.int() });
type Note = { id: string; text: string; version: number };
const notes = new Map<string, Note>(); // the read view
const gate = createGate({ awaitProgressMs: 1_000 }); // a check waits up to 1 s for the commit's report
const noteChanged = createRegistry<{ id: string; version: number }>({ name: 'noteChanged', gate });
const transport = createInProcessBus();
const parseEvent = createEventParser({ schema: NoteSet });
const projector = transport.createProjector({
  queue: 'notes-projector',
  parse: parseEvent,
  project: async (events) => {
    await new Promise((resolve) => setTimeout(resolve, 200)); // the lag of a real projection
    return events.map(({ id, text, version }) => {
      const stored = notes.get(id)?.version ?? 0;
      if (version !== stored + 1) return version <= stored ? 'duplicate' : 'early';
      notes.set(id, { id, text, version });
      noteChanged.progress(id, id, version); // committed: wakes the check waiting for this version
      return 'applied';
    });
  },
});
const consumer = transport.createTransientConsumer({
  parse: parseEvent,
  map: ({ id, version }) => {
    // The check: the poke leaves only once the read view shows the event's version.
    const check = () => ((notes.get(id)?.version ?? 0) >= version ? { id, version } : undefined);
    return [route(noteChanged, id, check, { coalesceKey: id, version })];
  },
});
const publisher = transport.createPublisher<z.infer<typeof NoteSet>>({ routingKey: () => 'notes.set' });

const typeDefs = `type Note { id: ID! text: String! version: Int! }  type NoteChange { id: ID! version: Int! }
  type Query { note(id: ID!): Note }  type Subscription { noteChanged(id: ID!): NoteChange! }`;
const resolvers = {
  Query: { note: (_: unknown, { id }: { id: string }) => notes.get(id) ?? null },
  Subscription: {
    noteChanged: {
      subscribe: (_: unknown, { id }: { id: string }) => noteChanged.addReceiver(id),
      resolve: (poke: unknown) => poke,
    },
  },
};
const yoga = createYoga({ schema: createSchema({ typeDefs, resolvers }) });
const server = createServer(yoga);
const webSocket = attachWebSocket(server, { yoga, authenticate: () => Promise.resolve({ sub: 'anyone' }) });
await Promise.all([projector.start(), consumer.start(), publisher.start()]);
await new Promise<void>((resolve) => server.listen(0, resolve));
// The client, as a browser runs it: note n1, fetched again on every poke.
const client = createLiveClient({ url: `ws://localhost:${(server.address() as AddressInfo).port}/graphql` });
const NoteQuery: TypedDocumentNode<{ note: Note | null }, { id: string }> = parse(
  'query Note($id: ID!) { note(id: $id) { id text version } }',
);
const NoteChanged: TypedDocumentNode<{ noteChanged: { id: string; version: number } }, { id: string }> =
  parse('subscription NoteChanged($id: ID!) { noteChanged(id: $id) { id version } }');
const shown = Promise.withResolvers<Note>();
const live = client.liveQuery({
  query: NoteQuery,
  variables: { id: 'n1' },
  pokes: NoteChanged,
  pokeVariables: { id: 'n1' },
  onPoke: ({ noteChanged: { version } }) => console.log(`poke: n1 is at version ${version}`),
  onData: ({ note }, { reason }) => {
    console.log(`shown after ${reason}: ${JSON.stringify(note)}`);
    if (note !== null) shown.resolve(note);
  },
});
await live.whenLive();
await publisher.publish({ type: 'NoteSet', id: 'n1', text: 'hello', version: 1 }); // the owning service writes
await shown.promise; // the refetch the poke asked for: it shows version 1, never an older note
await Promise.all([client.dispose(), webSocket.close(), transport.close()]);
server.close();
