/**
 * Everything the environment runs, fetched or built once into the cache directory:
 * moto (trixie) with its Python modules (bookworm), etcd, and kube-apiserver built from
 * bookworm's `kubernetes` source package. Each step is skipped when its result is cached.
 */
import {
  cpSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { copyFile } from 'node:fs/promises';
import path from 'node:path';
import { PrivateApt } from './apt.js';
import {
  GOLANG_PACKAGE,
  GOROOT,
  KUBERNETES_SUITE,
  MOTO_EXTRA_PACKAGES,
  MOTO_SUITE,
  type Layout,
} from './config.js';
import { capture, progress, runLogged, TestenvError } from './exec.js';

/** Where a prepared moto lives and which Python runs it. */
export interface MotoInstall {
  version: string;
  python: string;
  pythonPath: string;
}

/** The prepared components, as `up` needs them. */
export interface Prepared {
  moto: MotoInstall;
  etcdBinary: string;
  kubeApiserverBinary: string;
}

const RUNTIME_PACKAGES = ['openssl'];
// What `make WHAT=cmd/kube-apiserver` in the Debian source tree needs besides coreutils.
const BUILD_PACKAGES = [GOLANG_PACKAGE, 'rsync', 'make', 'dpkg-dev', 'xz-utils', 'patch'];
const REFLECT2_PACKAGE = 'golang-github-modern-go-reflect2-dev';
// Bumped when the build changes, so binaries built the old way are rebuilt.
const BUILD_RECIPE = 2;
// moto backends the responder and its tests use: an import error here is a missing module.
const MOTO_IMPORT_CHECK =
  'import moto.server, flask_cors; ' +
  'import moto.ec2.models, moto.ecs.models, moto.awslambda.models, moto.sns.models, ' +
  'moto.sqs.models, moto.sts.models, moto.iam.models, moto.eks.models, moto.events.models, ' +
  'moto.logs.models';

/** Fetches and builds whatever is not cached yet; cheap when everything is. */
export async function prepare(layout: Layout): Promise<Prepared> {
  const python = pythonInterpreter();
  await ensureSystemPackages(
    [...RUNTIME_PACKAGES, ...(existsSync(python) ? [] : ['python3'])],
    layout,
  );
  const apt = new PrivateApt(layout.apt, path.join(layout.logs, 'apt.log'), [
    MOTO_SUITE,
    KUBERNETES_SUITE,
  ]);
  let indexesReady = false;
  const ensureIndexes = async () => {
    if (!indexesReady) await apt.ensureIndexes();
    indexesReady = true;
  };
  const moto = await ensureMoto(layout, apt, ensureIndexes, python);
  const etcdBinary = await ensureEtcd(layout, apt, ensureIndexes);
  const kubeApiserverBinary = await ensureKubeApiserver(layout, apt, ensureIndexes);
  return { moto, etcdBinary, kubeApiserverBinary };
}

/** The Python that runs moto: Debian's own, whose ABI matches bookworm's compiled modules. */
export function pythonInterpreter(): string {
  return process.env.GDRR_TESTENV_PYTHON || '/usr/bin/python3';
}

async function isInstalled(debianPackage: string): Promise<boolean> {
  try {
    const status = await capture('dpkg-query', ['-W', '-f=${db:Status-Status}', debianPackage]);
    return status.trim() === 'installed';
  } catch {
    return false;
  }
}

/** Installs missing Debian packages system-wide (root only); `apt-get update` only if needed. */
async function ensureSystemPackages(names: string[], layout: Layout): Promise<void> {
  const missing: string[] = [];
  for (const name of names) if (!(await isInstalled(name))) missing.push(name);
  if (missing.length === 0) return;
  if (process.getuid?.() !== 0) {
    throw new TestenvError(
      `missing Debian packages: ${missing.join(' ')}; install them as root: ` +
        `apt-get update && apt-get install -y --no-install-recommends ${missing.join(' ')}`,
    );
  }
  progress(`installing Debian packages: ${missing.join(' ')}`);
  const logFile = path.join(layout.logs, 'apt-install.log');
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  await runLogged('apt-get', ['update', '-q'], { description: 'apt-get update', logFile, env });
  await runLogged('apt-get', ['install', '-y', '-q', '--no-install-recommends', ...missing], {
    description: `apt-get install ${missing.join(' ')}`,
    logFile,
    env,
  });
}

function readMarker<T>(file: string, stillThere: (value: T) => boolean): T | undefined {
  if (!existsSync(file)) return undefined;
  try {
    const value = JSON.parse(readFileSync(file, 'utf8')) as T;
    return stillThere(value) ? value : undefined;
  } catch {
    return undefined;
  }
}

function freshDir(dir: string): string {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  return dir;
}

async function unpackAll(debDir: string, root: string, logFile: string): Promise<void> {
  freshDir(root);
  for (const deb of readdirSync(debDir).filter((name) => name.endsWith('.deb'))) {
    await runLogged('dpkg', ['-x', path.join(debDir, deb), root], {
      description: `unpacking ${deb}`,
      logFile,
    });
  }
}

/** Package names of a `Depends:` field, first choice of each alternative, no version. */
export function dependsNames(field: string): string[] {
  return field
    .split(',')
    .map(
      (alternatives) =>
        alternatives
          .split('|')[0]
          ?.trim()
          .split(/[\s(:]/)[0] ?? '',
    )
    .filter(Boolean);
}

async function motoPythonPackages(
  apt: PrivateApt,
): Promise<{ version: string; packages: string[] }> {
  const show = await apt.query('apt-cache', ['show', `python3-moto/${MOTO_SUITE}`]);
  const version = /^Version: (.+)$/m.exec(show)?.[1];
  const depends = /^Depends: (.+)$/m.exec(show)?.[1];
  if (!version || !depends) {
    throw new TestenvError(`python3-moto not found in Debian ${MOTO_SUITE} (private apt index)`);
  }
  const roots = [...dependsNames(depends), ...MOTO_EXTRA_PACKAGES].filter((name) =>
    name.startsWith('python3-'),
  );
  // With the machine's suites pinned above trixie, the closure is bookworm's Python 3.11 builds.
  const tree = await apt.query('apt-cache', [
    'depends',
    '--recurse',
    '--no-recommends',
    '--no-suggests',
    '--no-conflicts',
    '--no-breaks',
    '--no-replaces',
    '--no-enhances',
    ...roots,
  ]);
  const interpreterPackages = /^python3(?:\.\d+)?(?:-minimal|-distutils|-lib2to3)?$/;
  const packages = new Set(
    tree
      .split('\n')
      .filter((line) => /^python3-[a-z0-9.+-]+$/.test(line))
      .filter((name) => !interpreterPackages.test(name)),
  );
  return { version, packages: [...packages].sort() };
}

async function ensureMoto(
  layout: Layout,
  apt: PrivateApt,
  ensureIndexes: () => Promise<void>,
  python: string,
): Promise<MotoInstall> {
  const markerFile = path.join(layout.moto, 'current.json');
  const cached = readMarker<MotoInstall>(
    markerFile,
    (m) => existsSync(m.pythonPath) && m.python === python,
  );
  if (cached) return cached;
  await ensureIndexes();
  const { version, packages } = await motoPythonPackages(apt);
  progress(`fetching moto ${version} (${MOTO_SUITE}) and ${packages.length} Python packages`);
  const logFile = path.join(layout.logs, 'moto-prepare.log');
  const debDir = freshDir(path.join(layout.downloads, `moto-${version}`));
  await apt.download([`python3-moto/${MOTO_SUITE}`, ...packages], debDir);
  const root = path.join(layout.moto, version);
  await unpackAll(debDir, root, logFile);
  rmSync(debDir, { recursive: true, force: true });
  const install: MotoInstall = {
    version,
    python,
    pythonPath: path.join(root, 'usr', 'lib', 'python3', 'dist-packages'),
  };
  await runLogged(python, ['-c', MOTO_IMPORT_CHECK], {
    description: `importing moto with ${python} (PYTHONPATH=${install.pythonPath})`,
    logFile,
    env: { ...process.env, PYTHONPATH: install.pythonPath, PYTHONDONTWRITEBYTECODE: '1' },
  });
  writeFileSync(markerFile, JSON.stringify(install, null, 2));
  return install;
}

async function ensureEtcd(
  layout: Layout,
  apt: PrivateApt,
  ensureIndexes: () => Promise<void>,
): Promise<string> {
  const markerFile = path.join(layout.etcd, 'current.json');
  const cached = readMarker<{ binary: string }>(markerFile, (m) => existsSync(m.binary));
  if (cached) return cached.binary;
  await ensureIndexes();
  progress('fetching etcd-server (Debian)');
  const logFile = path.join(layout.logs, 'etcd-prepare.log');
  const debDir = freshDir(path.join(layout.downloads, 'etcd'));
  await apt.download(['etcd-server'], debDir);
  const root = path.join(layout.etcd, 'root');
  await unpackAll(debDir, root, logFile);
  rmSync(debDir, { recursive: true, force: true });
  const binary = path.join(root, 'usr', 'bin', 'etcd');
  await runLogged(binary, ['--version'], { description: 'running etcd --version', logFile });
  writeFileSync(markerFile, JSON.stringify({ binary }, null, 2));
  return binary;
}

async function ensureKubeApiserver(
  layout: Layout,
  apt: PrivateApt,
  ensureIndexes: () => Promise<void>,
): Promise<string> {
  const markerFile = path.join(layout.kubeApiserver, 'current.json');
  const cached = readMarker<{ binary: string; recipe?: number }>(
    markerFile,
    (m) => m.recipe === BUILD_RECIPE && existsSync(m.binary),
  );
  if (cached) return cached.binary;
  await ensureSystemPackages(BUILD_PACKAGES, layout);
  await ensureIndexes();
  const logFile = path.join(layout.logs, 'kube-apiserver-build.log');
  freshDir(layout.build);
  const sourceDir = freshDir(path.join(layout.build, 'source'));
  progress(`fetching the kubernetes source package (Debian ${KUBERNETES_SUITE})`);
  await apt.downloadSource(`kubernetes/${KUBERNETES_SUITE}`, sourceDir);
  const dsc = readdirSync(sourceDir).find((name) => name.endsWith('.dsc'));
  if (!dsc) throw new TestenvError(`no .dsc downloaded into ${sourceDir}; log: ${logFile}`);
  const gopath = path.join(layout.build, 'gopath');
  const tree = path.join(gopath, 'src', 'k8s.io', 'kubernetes');
  mkdirSync(path.dirname(tree), { recursive: true });
  await runLogged('dpkg-source', ['-x', path.join(sourceDir, dsc), tree], {
    description: 'unpacking the kubernetes source package',
    logFile,
  });
  rmSync(sourceDir, { recursive: true, force: true });
  await replaceVendoredReflect2(apt, tree, layout.build, logFile);
  progress(`building kube-apiserver (a few minutes, once); log: ${logFile}`);
  await runLogged('make', ['WHAT=cmd/kube-apiserver'], {
    description: 'building kube-apiserver',
    logFile,
    cwd: tree,
    env: goBuildEnv(gopath, layout.build),
    timeoutMs: 45 * 60_000,
  });
  const built = path.join(tree, '_output', 'bin', 'kube-apiserver');
  const version = (await capture(built, ['--version'])).trim().replace(/^Kubernetes\s+/, '');
  const binary = path.join(layout.kubeApiserver, version, 'kube-apiserver');
  mkdirSync(path.dirname(binary), { recursive: true });
  // Via rename: an older binary at this path may be running (ETXTBSY on overwrite).
  await copyFile(built, `${binary}.new`);
  renameSync(`${binary}.new`, binary);
  rmSync(layout.build, { recursive: true, force: true });
  writeFileSync(markerFile, JSON.stringify({ binary, version, recipe: BUILD_RECIPE }, null, 2));
  progress(`kube-apiserver ${version} cached at ${binary}`);
  return binary;
}

/**
 * Kubernetes 1.20 vendors reflect2 1.0.1, which crashes under Go >= 1.18 (nil pointer in
 * reflect2.Type2 whenever json-iterator decodes a map: every webhook TokenReview answer,
 * every object with labels). Debian's reflect2 1.0.2 is upstream's fix for exactly that.
 */
async function replaceVendoredReflect2(
  apt: PrivateApt,
  tree: string,
  workDir: string,
  logFile: string,
): Promise<void> {
  const debDir = freshDir(path.join(workDir, 'reflect2'));
  await apt.download([REFLECT2_PACKAGE], debDir);
  const root = path.join(debDir, 'root');
  await unpackAll(debDir, root, logFile);
  const fixed = path.join(root, 'usr/share/gocode/src/github.com/modern-go/reflect2');
  if (!existsSync(fixed)) throw new TestenvError(`${REFLECT2_PACKAGE} did not contain ${fixed}`);
  const vendored = path.join(tree, 'vendor', 'github.com', 'modern-go', 'reflect2');
  rmSync(vendored, { recursive: true, force: true });
  cpSync(fixed, vendored, { recursive: true });
  rmSync(debDir, { recursive: true, force: true });
}

function goBuildEnv(gopath: string, buildRoot: string): NodeJS.ProcessEnv {
  return {
    ...process.env,
    PATH: `${GOROOT}/bin:${process.env.PATH ?? '/usr/bin:/bin'}`,
    GOROOT,
    GOPATH: gopath,
    GOCACHE: path.join(buildRoot, 'gocache'),
    HOME: buildRoot,
    // The Debian tree vendors every dependency: build offline, GOPATH style, static.
    GO111MODULE: 'off',
    GOFLAGS: '',
    GOPROXY: 'off',
    CGO_ENABLED: '0',
  };
}
