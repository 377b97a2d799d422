/**
 * `npm run build`: compiles src/ to plain JavaScript in dist/ (the same tree, `.ts` → `.js`, the
 * relative `.ts` import specifiers rewritten to `.js` by tsc's rewriteRelativeImportExtensions),
 * and copies src/'s other files (the web admin's static assets, JSON) beside them. `npm start`,
 * the image and the bench run dist/, so production never loads Node's TypeScript type stripper
 * (WebAssembly, about 20 MB of RSS). `npm run dev` and the tests keep running src/ directly.
 *
 * Always a full build from the current sources into a fresh directory that then replaces dist/,
 * so dist/ never holds the output of an older or deleted source file, and a failed build leaves
 * the previous dist/ as it was. Types are not checked here (`npm run typecheck` does that): like
 * Node's type stripping, the build only removes them; it fails on a syntax error.
 */
import { cpSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { join, relative } from 'node:path';
import ts from 'typescript';

export interface BuildResult {
  /** JavaScript modules written. */
  modules: number;
  /** Other files of src/ copied. */
  assets: number;
}

export class BuildError extends Error {}

/** Every file under `dir` (recursively) that `keep` accepts, as paths relative to `dir`. */
function filesUnder(dir: string, keep: (name: string) => boolean): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile() && keep(e.name))
    .map((e) => relative(dir, join(e.parentPath, e.name)));
}

function format(root: string, diagnostics: readonly ts.Diagnostic[]): string {
  return ts.formatDiagnostics(diagnostics, {
    getCanonicalFileName: (f) => f,
    getCurrentDirectory: () => root,
    getNewLine: () => '\n',
  });
}

/** Compiles `root`'s tsconfig.build.json into `outDir`; returns the errors (none on success). */
function compile(root: string, outDir: string): readonly ts.Diagnostic[] {
  const configFile = join(root, 'tsconfig.build.json');
  let unrecoverable: ts.Diagnostic | undefined;
  const parsed = ts.getParsedCommandLineOfConfigFile(
    configFile,
    { outDir },
    { ...ts.sys, onUnRecoverableConfigFileDiagnostic: (d) => (unrecoverable = d) },
  );
  if (!parsed) return unrecoverable ? [unrecoverable] : [];
  if (parsed.errors.length > 0) return parsed.errors;
  const program = ts.createProgram({ rootNames: parsed.fileNames, options: parsed.options });
  const diagnostics = [...ts.getPreEmitDiagnostics(program), ...program.emit().diagnostics];
  return diagnostics.filter((d) => d.category === ts.DiagnosticCategory.Error);
}

/**
 * Builds `root`/src into `root`/dist (see the file's comment). Throws a BuildError with tsc's
 * messages when the sources do not compile; dist/ is then left as it was.
 */
export function build(root: string): BuildResult {
  const srcDir = join(root, 'src');
  const outDir = join(root, 'dist');
  const tmpDir = join(root, `dist.${process.pid}.tmp`);
  rmSync(tmpDir, { recursive: true, force: true });
  try {
    const errors = compile(root, tmpDir);
    if (errors.length > 0) throw new BuildError(`the sources do not compile; dist/ is left as it was\n${format(root, errors)}`);
    const assets = filesUnder(srcDir, (name) => !name.endsWith('.ts'));
    for (const file of assets) cpSync(join(srcDir, file), join(tmpDir, file));
    const modules = filesUnder(tmpDir, (name) => name.endsWith('.js')).length;
    rmSync(outDir, { recursive: true, force: true });
    renameSync(tmpDir, outDir);
    return { modules, assets: assets.length };
  } finally {
    rmSync(tmpDir, { recursive: true, force: true });
  }
}

if (import.meta.main) {
  const started = performance.now();
  try {
    const { modules, assets } = build(new URL('..', import.meta.url).pathname);
    process.stderr.write(
      `build: dist/ from src/: ${modules} modules, ${assets} other files, ${Math.round(performance.now() - started)} ms\n`,
    );
  } catch (err) {
    if (!(err instanceof BuildError)) throw err;
    process.stderr.write(`build: FAILED: ${err.message}`);
    process.exitCode = 1;
  }
}
