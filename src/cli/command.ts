/** A verb registers itself on the program; `setExitCode` raises the process exit code (the highest wins). */
import type { Command } from 'commander';

export type RegisterCommand = (program: Command, setExitCode: (code: number) => void) => void;
