// Checks of rendered deployment files that kubeconform cannot do, run by scripts/check-deploy.sh
// with the packages it installed under .cache/tools/npm (plain .mjs so any Node 18+ runs it):
//
//   node test/deploy/check-rendered.mjs custom-resources TOOLS_NPM_DIR MANIFEST...
//     ServiceMonitor, PrometheusRule (monitoring.coreos.com/v1), ScaledObject and
//     TriggerAuthentication (keda.sh/v1alpha1) against the validators of @kubernetes-models/*
//     (types, required fields, enums, patterns), then their TypeScript declarations with tsc, whose
//     excess-property check rejects unknown fields (the validators alone let them through).
//   node test/deploy/check-rendered.mjs env-coverage TOOLS_NPM_DIR CONFIG_TS MANIFEST...
//     The dispatcher gets every variable src/config.ts reads (ConfigMap + Secret references) and
//     no variable it does not read (NODE_EXTRA_CA_CERTS and extraEnv aside).
//   node test/deploy/check-rendered.mjs compose-env CONFIG_TS COMPOSE_JSON
//     The dispatcher and migrate services of `docker compose config --format json` set only
//     variables src/config.ts reads.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

const [command, ...args] = process.argv.slice(2);

/** Variable names src/config.ts reads: every `(env, 'NAME'` call. */
function configNames(configTs) {
  const names = new Set();
  for (const m of readFileSync(configTs, 'utf8').matchAll(/\(env, '([A-Z][A-Z0-9_]*)'/g)) names.add(m[1]);
  if (names.size === 0) throw new Error(`no variable names found in ${configTs}`);
  return names;
}

async function loadYaml(npmDir) {
  const require = createRequire(join(npmDir, 'package.json'));
  return import(pathToFileURL(require.resolve('yaml')).href);
}

async function manifests(npmDir, files) {
  const { parseAllDocuments } = await loadYaml(npmDir);
  const docs = [];
  for (const file of files) {
    for (const doc of parseAllDocuments(readFileSync(file, 'utf8'))) {
      if (doc.errors.length > 0) throw new Error(`${file}: ${doc.errors[0].message}`);
      const value = doc.toJS();
      if (value !== null && typeof value === 'object') docs.push({ file, value });
    }
  }
  return docs;
}

const CUSTOM_KINDS = {
  'monitoring.coreos.com/v1/ServiceMonitor': [
    '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/ServiceMonitor',
    'IServiceMonitor',
  ],
  'monitoring.coreos.com/v1/PrometheusRule': [
    '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/PrometheusRule',
    'IPrometheusRule',
  ],
  'keda.sh/v1alpha1/ScaledObject': ['@kubernetes-models/keda/keda.sh/v1alpha1/ScaledObject', 'IScaledObject'],
  'keda.sh/v1alpha1/TriggerAuthentication': ['@kubernetes-models/keda/keda.sh/v1alpha1/TriggerAuthentication', 'ITriggerAuthentication'],
};

async function customResources(npmDir, files) {
  const found = (await manifests(npmDir, files)).filter(({ value }) => `${value.apiVersion}/${value.kind}` in CUSTOM_KINDS);
  const problems = new Set();
  for (const [n, { file, value }] of found.entries()) {
    const [modulePath, className] = CUSTOM_KINDS[`${value.apiVersion}/${value.kind}`];
    // By file path: the packages' "exports" map their files without the .js the loader needs.
    const Model = (await import(pathToFileURL(join(npmDir, 'node_modules', `${modulePath}.js`)).href))[className.slice(1)];
    try {
      new Model(value).validate();
    } catch (err) {
      problems.add(n);
      console.log(`  INVALID ${file}: ${value.kind} ${value.metadata?.name}: ${err.message}`);
    }
  }
  if (found.length === 0) {
    console.log('  no custom resources rendered');
    return true;
  }
  // Unknown fields: one typed constant per resource, one per line, so an error's line names it.
  const dir = mkdtempSync(join(npmDir, 'check-'));
  try {
    const imports = Object.values(CUSTOM_KINDS).map(([m, i]) => `import type { ${i} } from "${m}";`);
    const lines = found.map(
      ({ value }, n) => `export const r${n}: ${CUSTOM_KINDS[`${value.apiVersion}/${value.kind}`][1]} = ${JSON.stringify(value)};`,
    );
    writeFileSync(join(dir, 'resources.ts'), [...imports, ...lines, ''].join('\n'));
    writeFileSync(
      join(dir, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          strict: true,
          noEmit: true,
          module: 'nodenext',
          moduleResolution: 'nodenext',
          target: 'es2022',
          skipLibCheck: true,
          types: [],
        },
        files: ['resources.ts'],
      }),
    );
    try {
      execFileSync(process.execPath, [join(npmDir, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(dir, 'tsconfig.json')], {
        encoding: 'utf8',
        stdio: 'pipe',
      });
    } catch (err) {
      const out = `${err.stdout ?? ''}${err.stderr ?? ''}`;
      for (const m of out.matchAll(/resources\.ts\((\d+),\d+\): error (TS\d+: .*)/g)) {
        const n = Number(m[1]) - imports.length - 1;
        const resource = found[n];
        problems.add(n);
        console.log(
          `  TYPE CHECK ${resource ? `${resource.file}: ${resource.value.kind} ${resource.value.metadata?.name}` : `line ${m[1]}`}: ${m[2]}`,
        );
      }
      if (!/resources\.ts\(\d+,\d+\): error/.test(out)) throw new Error(`tsc failed: ${out.slice(0, 2000)}`, { cause: err });
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const kinds = [...new Set(found.map(({ value }) => value.kind))].sort().join(', ');
  console.log(`  ${found.length} custom resources (${kinds}): ${found.length - problems.size} valid, ${problems.size} invalid`);
  return problems.size === 0;
}

async function envCoverage(npmDir, configTs, files) {
  const names = configNames(configTs);
  let ok = true;
  for (const file of files) {
    const docs = (await manifests(npmDir, [file])).map((d) => d.value);
    const deployment = docs.find((d) => d.kind === 'Deployment');
    if (!deployment) {
      console.log(`  ${file}: no Deployment`);
      ok = false;
      continue;
    }
    const container = deployment.spec.template.spec.containers.find((c) => c.name === 'dispatcher');
    const given = new Set();
    for (const from of container.envFrom ?? []) {
      const cm = docs.find((d) => d.kind === 'ConfigMap' && d.metadata.name === from.configMapRef?.name);
      if (!cm) throw new Error(`${file}: envFrom names ConfigMap ${from.configMapRef?.name}, which is not rendered`);
      for (const key of Object.keys(cm.data ?? {})) given.add(key);
    }
    const extra = new Set(['NODE_EXTRA_CA_CERTS', 'NODE_OPTIONS']);
    for (const e of container.env ?? []) if (!extra.has(e.name)) given.add(e.name);
    const secretNames = new Set(['DATABASE_URL', 'KAFKA_SASL_PASSWORD', 'SCHEMA_REGISTRY_PASSWORD']);
    const missing = [...names].filter((n) => !given.has(n) && !secretNames.has(n));
    const unknown = [...given].filter((n) => !names.has(n));
    if (!given.has('DATABASE_URL')) missing.push('DATABASE_URL');
    if (missing.length > 0 || unknown.length > 0) {
      ok = false;
      if (missing.length > 0) console.log(`  ${file}: not set for the dispatcher: ${missing.join(', ')}`);
      if (unknown.length > 0) console.log(`  ${file}: set but not read by src/config.ts: ${unknown.join(', ')}`);
    } else {
      console.log(
        `  ${file}: ${given.size} variables, all read by src/config.ts; all ${names.size - secretNames.size} non-secret ones set`,
      );
    }
  }
  return ok;
}

function composeEnv(configTs, composeJson) {
  const names = configNames(configTs);
  const compose = JSON.parse(readFileSync(composeJson, 'utf8'));
  let ok = true;
  for (const service of ['dispatcher', 'migrate']) {
    const env = Object.keys(compose.services?.[service]?.environment ?? {});
    const unknown = env.filter((n) => !names.has(n));
    if (env.length === 0 || unknown.length > 0) {
      ok = false;
      console.log(
        `  compose service ${service}: ${env.length === 0 ? 'no environment' : `not read by src/config.ts: ${unknown.join(', ')}`}`,
      );
    } else {
      console.log(`  compose service ${service}: ${env.length} variables, all read by src/config.ts`);
    }
  }
  return ok;
}

let ok;
if (command === 'custom-resources') ok = await customResources(args[0], args.slice(1));
else if (command === 'env-coverage') ok = await envCoverage(args[0], args[1], args.slice(2));
else if (command === 'compose-env') ok = composeEnv(args[0], args[1]);
else {
  console.error('usage: check-rendered.mjs custom-resources|env-coverage|compose-env ...');
  process.exit(2);
}
process.exit(ok ? 0 : 1);
