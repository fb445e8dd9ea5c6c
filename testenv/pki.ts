/**
 * A throw-away PKI for one run of the Kubernetes API server, made with the openssl CLI:
 * a CA, a serving certificate for 127.0.0.1/localhost, an admin client certificate in
 * `system:masters`, and the service-account signing key pair.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { runLogged } from './exec.js';

/** Paths of the PEM files one run uses. */
export interface Pki {
  caCert: string;
  caKey: string;
  servingCert: string;
  servingKey: string;
  adminCert: string;
  adminKey: string;
  serviceAccountKey: string;
  serviceAccountPublicKey: string;
}

const VALID_DAYS = '30';

/** Creates the PKI under `dir` (which belongs to this run only). */
export async function createPki(dir: string, logFile: string): Promise<Pki> {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const file = (name: string) => path.join(dir, name);
  const pki: Pki = {
    caCert: file('ca.pem'),
    caKey: file('ca-key.pem'),
    servingCert: file('apiserver.pem'),
    servingKey: file('apiserver-key.pem'),
    adminCert: file('admin.pem'),
    adminKey: file('admin-key.pem'),
    serviceAccountKey: file('service-account-key.pem'),
    serviceAccountPublicKey: file('service-account.pub'),
  };
  const openssl = (description: string, args: string[]) =>
    runLogged('openssl', args, { description: `openssl: ${description}`, logFile });

  for (const key of [pki.caKey, pki.servingKey, pki.adminKey, pki.serviceAccountKey]) {
    await openssl('generating a P-256 key', [
      'genpkey',
      '-algorithm',
      'EC',
      '-pkeyopt',
      'ec_paramgen_curve:P-256',
      '-out',
      key,
    ]);
  }
  await openssl('public service-account key', [
    'pkey',
    '-in',
    pki.serviceAccountKey,
    '-pubout',
    '-out',
    pki.serviceAccountPublicKey,
  ]);
  await openssl('self-signed CA', [
    'req',
    '-x509',
    '-new',
    '-key',
    pki.caKey,
    '-sha256',
    '-days',
    VALID_DAYS,
    '-subj',
    '/CN=gdrr-testenv-ca',
    '-addext',
    'basicConstraints=critical,CA:TRUE',
    '-addext',
    'keyUsage=critical,keyCertSign,cRLSign',
    '-out',
    pki.caCert,
  ]);
  await issue(openssl, pki, dir, {
    name: 'apiserver',
    subject: '/CN=kube-apiserver',
    key: pki.servingKey,
    out: pki.servingCert,
    extensions: [
      'extendedKeyUsage=serverAuth',
      'subjectAltName=IP:127.0.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default.svc',
    ],
  });
  await issue(openssl, pki, dir, {
    name: 'admin',
    subject: '/O=system:masters/CN=gdrr-testenv-admin',
    key: pki.adminKey,
    out: pki.adminCert,
    extensions: ['extendedKeyUsage=clientAuth'],
  });
  return pki;
}

interface LeafRequest {
  name: string;
  subject: string;
  key: string;
  out: string;
  extensions: string[];
}

async function issue(
  openssl: (description: string, args: string[]) => Promise<void>,
  pki: Pki,
  dir: string,
  leaf: LeafRequest,
): Promise<void> {
  const csr = path.join(dir, `${leaf.name}.csr`);
  const extFile = path.join(dir, `${leaf.name}.ext`);
  writeFileSync(
    extFile,
    ['basicConstraints=critical,CA:FALSE', 'keyUsage=critical,digitalSignature', ...leaf.extensions]
      .map((line) => `${line}\n`)
      .join(''),
  );
  await openssl(`${leaf.name} request`, [
    'req',
    '-new',
    '-key',
    leaf.key,
    '-subj',
    leaf.subject,
    '-out',
    csr,
  ]);
  await openssl(`${leaf.name} certificate`, [
    'x509',
    '-req',
    '-in',
    csr,
    '-CA',
    pki.caCert,
    '-CAkey',
    pki.caKey,
    '-sha256',
    '-set_serial',
    `0x${randomBytes(16).toString('hex')}`,
    '-days',
    VALID_DAYS,
    '-extfile',
    extFile,
    '-out',
    leaf.out,
  ]);
}
