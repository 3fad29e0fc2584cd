/**
 * Prints a DASHBOARD_USERS password hash: `npm run hash-password -w @conveyor/dashboard`, then
 * type the password (or pipe it: `printf %s "$PW" | npm run -s hash-password -w …`). The
 * password is read from stdin, never from the command line (shell history, `ps`); one trailing
 * newline is dropped. Use the output as `name:role:<hash>`.
 */
import { hashPassword } from '../src/access/password-hash.ts';

if (process.stdin.isTTY) process.stderr.write('Password (input is shown; Ctrl-D to finish, or pipe it in): ');
const chunks: Buffer[] = [];
for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
const password = Buffer.concat(chunks).toString('utf8').replace(/\r?\n$/, '');
if (password.length < 8) {
  process.stderr.write('\nrefusing: the password must have at least 8 characters\n');
  process.exit(2);
}
process.stdout.write(`${await hashPassword(password)}\n`);
