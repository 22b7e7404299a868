import { tenantWord } from 'pokegate';
import { z } from 'zod';

// The access events as the owning service (say, an identity service) publishes
// them. A membership event is about one user; a company event about every member.

const id = z.string().min(1).max(200);
const base = {
  eventId: id,
  /** Counts from 1 per membership (member events) or per company (company events). */
  version: z.int().min(1),
  occurredAt: z.iso.datetime({ offset: true }),
};

export const accessEventSchema = z.discriminatedUnion('type', [
  z.object({ ...base, type: z.literal('MemberAdded'), userId: id, companyId: id, companyName: z.string() }),
  z.object({ ...base, type: z.literal('MemberRemoved'), userId: id, companyId: id }),
  z.object({ ...base, type: z.literal('CompanyRenamed'), companyId: id, name: z.string() }),
  z.object({ ...base, type: z.literal('CompanyClosed'), companyId: id }),
]);

export type AccessEvent = z.infer<typeof accessEventSchema>;

/** The routing key of each event type, without its user: a company event's whole key. */
export const accessRoutingKeys = {
  MemberAdded: 'access.member_added',
  MemberRemoved: 'access.member_removed',
  CompanyRenamed: 'access.company_renamed',
  CompanyClosed: 'access.company_closed',
} as const satisfies Record<AccessEvent['type'], string>;

/**
 * A membership event's key names its user (`access.member_added.<user>`), so
 * a replica bound by interest takes only its subscribers' users; a company
 * event's members are known to the read view only, so it reaches every replica.
 */
export function accessRoutingKey(event: AccessEvent): string {
  const key = accessRoutingKeys[event.type];
  return 'userId' in event ? `${key}.${tenantWord(event.userId)}` : key;
}

/** Every access event: the projector's binding. */
export const accessBindingKey = 'access.#';

/** The events that name no user (company events, and membership events published without one): every replica's. */
export const accessSharedBindingKey = 'access.*';

/** The binding patterns of one user's membership events. */
export function userBindingKeys(userId: string): readonly string[] {
  return [`access.*.${tenantWord(userId)}`];
}
