#!/usr/bin/env node
// Loads tsx's ESM hooks, then runs the TypeScript entry point, so the package needs no build step.
import { register } from 'tsx/esm/api';

register();
await import('../src/cli.ts');
