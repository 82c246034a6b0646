#!/usr/bin/env node
// The installed `palmswitch` command: runs the TypeScript entry through tsx's loader so
// there is no build step between a checkout and a working command.
import { register } from 'tsx/esm/api';

register();
await import('./main.ts');
