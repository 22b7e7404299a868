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

export const accessRoutingKeys = {
  MemberAdded: 'access.member_added',
  MemberRemoved: 'access.member_removed',
  CompanyRenamed: 'access.company_renamed',
  CompanyClosed: 'access.company_closed',
} as const satisfies Record<AccessEvent['type'], string>;

/** The binding key that matches every access event. */
export const accessBindingKey = 'access.*';
