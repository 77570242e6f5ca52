// Package auth mints and verifies the access tokens orgraph accepts, and holds Microsoft Graph's permission
// table for the operations orgraph serves. Tokens are shaped like the v1.0 tokens Entra ID issues for Graph
// (RS256, aud https://graph.microsoft.com, iss https://sts.windows.net/{tid}/, roles or scp) so that code
// written for Graph, and the SDKs' auth providers, work unchanged; the signing keys live in the store so that
// every node verifies what any node (or the CLI) minted, and permission checks answer what Graph would.
// A Verifier can also trust external OpenID Connect issuers (a company's own identity provider, listed in
// serve --trusted-issuers), whose tokens' claims are mapped onto the same Principal, fetching their keys
// from their JWKS.
package auth
