#!/usr/bin/env node
// Launcher of the dialer-webhooks CLI (package.json "bin"). The CLI is TypeScript run directly by
// Node 24's type stripping, so this file stays plain JavaScript that any Node can parse: it checks
// the version, then loads src/cli/main.ts in this same process (no child process: signals such as
// the SIGTERM a container runtime sends to `dialer-webhooks run` reach the service directly).
// Node refuses to strip types under node_modules, so this works from a checkout or an image that
// holds the sources, not from an installed dependency.
const major = Number(process.versions.node.split('.')[0]);
if (!(major >= 24)) {
  process.stderr.write(
    `dialer-webhooks: Node.js 24 or newer is needed (this is ${process.version}); use the project's own: node_modules/.bin/node\n`,
  );
  process.exit(2);
}
const { runCli } = await import(new URL('../src/cli/main.ts', import.meta.url).href);
await runCli();
