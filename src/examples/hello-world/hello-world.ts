// Notes: another service publishes each change of a note as an event; a projector applies it to an
// in-memory read view 200 ms later, and a subscriber is poked once a refetch shows the change.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { parse } from 'graphql';
import { createSchema, createYoga } from 'graphql-yoga';
import { z } from 'zod';
import { createEventParser, createGate, createRegistry, route } from 'pokegate';
import { createInProcessBus } from 'pokegate/bus';
import { attachWebSocket } from 'pokegate/graphql';
import { createLiveClient, type TypedDocumentNode } from 'pokegate/client';

const NoteSet = z.object({
  type: z.literal('NoteSet'),
  id: z.string(),
  text: z.string(),
  version: z.number(),
});
type Note = { id: string; text: string; version: number };
type NoteChange = { id: string; version: number };

const notes = new Map<string, Note>(); // the read view
const gate = createGate({ awaitProgressMs: 1_000 }); // commits are reported below: check right after them
const noteChanged = createRegistry<NoteChange>({ name: 'noteChanged', gate });
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
// The visibility check: a poke leaves only once the read view shows the event's version.
const visible = (id: string, version: number) =>
  (notes.get(id)?.version ?? 0) >= version ? { id, version } : undefined;
const consumer = transport.createTransientConsumer({
  parse: parseEvent,
  map: ({ id, version }) => [
    route(noteChanged, id, () => visible(id, version), { coalesceKey: id, version }),
  ],
});
// Here for the owning service, which publishes the events.
const publisher = transport.createPublisher<z.infer<typeof NoteSet>>({ routingKey: () => 'notes.set' });

const yoga = createYoga({
  schema: createSchema({
    typeDefs: `type Note { id: ID! text: String! version: Int! }  type NoteChange { id: ID! version: Int! }
      type Query { note(id: ID!): Note }  type Subscription { noteChanged(id: ID!): NoteChange! }`,
    resolvers: {
      Query: { note: (_: unknown, { id }: { id: string }) => notes.get(id) ?? null },
      Subscription: {
        noteChanged: {
          subscribe: (_: unknown, { id }: { id: string }) => noteChanged.addReceiver(id),
          resolve: (poke: NoteChange) => poke,
        },
      },
    },
  }),
});
const server = createServer(yoga);
const webSocket = attachWebSocket(server, { yoga, authenticate: () => Promise.resolve({ sub: 'anyone' }) });
await Promise.all([projector.start(), consumer.start(), publisher.start()]);
await new Promise<void>((resolve) => server.listen(0, resolve));

// The client, as a browser runs it: note n1, fetched again on every poke.
const client = createLiveClient({ url: `ws://localhost:${(server.address() as AddressInfo).port}/graphql` });
const NoteQuery: TypedDocumentNode<{ note: Note | null }, { id: string }> = parse(
  'query Note($id: ID!) { note(id: $id) { id text version } }',
);
const NoteChanged: TypedDocumentNode<{ noteChanged: NoteChange }, { id: string }> = parse(
  'subscription NoteChanged($id: ID!) { noteChanged(id: $id) { id version } }',
);
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

// The owning service writes: n1's first version, as an event.
await publisher.publish({ type: 'NoteSet', id: 'n1', text: 'hello', version: 1 });
await shown.promise; // the refetch the poke asked for: it shows version 1, never an older note

await client.dispose();
await webSocket.close();
await transport.close();
server.close();
