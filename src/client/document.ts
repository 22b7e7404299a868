import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import { Kind, print, type DocumentNode } from 'graphql';
import type { SubscribePayload } from 'graphql-ws/client';
import { rejectOption } from '../common/validate.js';

/** The variables of an operation, as codegen's typed documents declare them. */
export type OperationVariables = Readonly<Record<string, unknown>>;

/** A document with its result and variables types, as `@graphql-codegen/typed-document-node` generates it. */
export type { TypedDocumentNode };

interface Printed {
  readonly query: string;
  readonly operationName: string | undefined;
  /** "query Orders", for error messages. */
  readonly label: string;
}

/** Printed once per document: live queries send the same one on every poke. */
const printed = new WeakMap<DocumentNode, Printed>();

function printOnce(document: DocumentNode): Printed {
  let entry = printed.get(document);
  if (entry === undefined) {
    const operation = document.definitions.find(
      (definition) => definition.kind === Kind.OPERATION_DEFINITION,
    );
    if (operation === undefined)
      return rejectOption('document', document, 'a document that holds an operation');
    const operationName = operation.name?.value;
    entry = {
      query: print(document),
      operationName,
      label: operationName === undefined ? operation.operation : `${operation.operation} ${operationName}`,
    };
    printed.set(document, entry);
  }
  return entry;
}

/** The graphql-ws payload of `document` with `variables`. */
export function toPayload(document: DocumentNode, variables: OperationVariables): SubscribePayload {
  const { query, operationName } = printOnce(document);
  return operationName === undefined
    ? { query, variables: { ...variables } }
    : { query, operationName, variables: { ...variables } };
}

/** "query Orders", "subscription OrdersChanged": how errors name an operation. */
export function operationLabel(document: DocumentNode): string {
  return printOnce(document).label;
}
