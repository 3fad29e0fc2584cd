/** Test certificates made with openssl, for the tests that run Redis over TLS. */
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** The files `makeCertificates` writes: the server's certificate and key, and the CA that signed it. */
export interface TestCertificates {
  certFile: string;
  keyFile: string;
  caFile: string;
}

/** A CA and a server certificate for `localhost` / 127.0.0.1, signed by it, in `into`; why not when openssl fails. */
export function makeCertificates(into: string): ({ ok: true } & TestCertificates) | { ok: false; why: string } {
  const run = (args: string[]) => execFileSync('openssl', args, { cwd: into, stdio: ['ignore', 'pipe', 'pipe'] });
  try {
    run(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=conveyor-test-ca', '-keyout', 'ca.key', '-out', 'ca.crt']);
    run(['req', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=localhost', '-keyout', 'server.key', '-out', 'server.csr']);
    writeFileSync(join(into, 'san.ext'), 'subjectAltName=DNS:localhost,IP:127.0.0.1\n');
    run(['x509', '-req', '-in', 'server.csr', '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-days', '1', '-extfile', 'san.ext', '-out', 'server.crt']);
    return { ok: true, certFile: join(into, 'server.crt'), keyFile: join(into, 'server.key'), caFile: join(into, 'ca.crt') };
  } catch (error) {
    return { ok: false, why: `openssl could not make a certificate: ${(error as Error).message}` };
  }
}
