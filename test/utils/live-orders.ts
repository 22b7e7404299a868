import { OrdersChangedDocument, OrdersDocument } from '../../src/service/generated/operations.js';

/** The operations of a live query of `companyId`'s orders, as the demo page runs it. */
export function ordersOf(companyId: string) {
  return {
    query: OrdersDocument,
    variables: { companyId },
    pokes: OrdersChangedDocument,
    pokeVariables: { companyId },
  } as const;
}
