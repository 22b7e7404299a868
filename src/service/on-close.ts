/** Registers what must close on shutdown; closed in reverse order. */
export type OnClose = (close: () => Promise<void> | void) => void;
