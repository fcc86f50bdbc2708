import type { Command } from 'commander';

/** A CLI verb registers itself on the program; `setExitCode` raises the process exit code. */
export type RegisterCommand = (program: Command, setExitCode: (code: number) => void) => void;

export const commandModules: RegisterCommand[] = [];
