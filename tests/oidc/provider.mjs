// A real OpenID Connect provider (oidc-provider) for sdassist's tests, listening on 127.0.0.1 only.
// Usage: node provider.mjs PORT CLIENT_ID CLIENT_SECRET REDIRECT_URI [REDIRECT_URI…]
// Sign-in uses oidc-provider's own development interactions: any login name is accepted, and the account
// "alice" is Alice <alice@example.test>. Prints "ready" on stdout once it listens.
// OIDC_FRESH_KEY=1 signs with an RSA key made at start (as a provider that rotated its keys), not the fixed
// development key.
import { generateKeyPairSync, randomUUID } from 'node:crypto';
import Provider from 'oidc-provider';

function freshKeys() {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return { keys: [{ ...privateKey.export({ format: 'jwk' }), kid: randomUUID(), use: 'sig', alg: 'RS256' }] };
}

const [port, clientId, clientSecret, ...redirectUris] = process.argv.slice(2);
const issuer = `http://127.0.0.1:${port}`;

const provider = new Provider(issuer, {
  ...(process.env.OIDC_FRESH_KEY === '1' ? { jwks: freshKeys() } : {}),
  clients: [{
    client_id: clientId,
    client_secret: clientSecret,
    redirect_uris: redirectUris,
    grant_types: ['authorization_code'],
    response_types: ['code'],
    token_endpoint_auth_method: 'client_secret_basic',
  }],
  features: { devInteractions: { enabled: true } },
  claims: { openid: ['sub'], profile: ['name'], email: ['email'] },
  pkce: { required: () => true },
  cookies: { keys: ['sdassist-tests-only'] },
  findAccount: async (_ctx, id) => ({
    accountId: id,
    claims: async () => ({
      sub: id,
      name: id.charAt(0).toUpperCase() + id.slice(1),
      email: `${id}@example.test`,
    }),
  }),
});
provider.proxy = false;
const server = provider.listen(Number(port), '127.0.0.1', () => { console.log('ready'); });
process.on('SIGTERM', () => server.close(() => process.exit(0)));
