/** Where the application says what it does while it works: one-line notices, and the live progress of builds. */
export interface SessionOutput {
  notice(line: string): void;
  progress: NodeJS.WritableStream;
}
