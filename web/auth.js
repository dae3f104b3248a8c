// @ts-check
// Signing in as the deployed stack wants it: a Cognito user pool for who
// you are, a Cognito identity pool for credentials, and every API call
// signed with them (SigV4, aws4fetch), as API Gateway's AWS_IAM checks.
// Locally (`make demo`) the same code runs against moto_server's user
// pool and the API's own Cognito Identity endpoint: only config.json
// differs.
//
// The user pool calls are amazon-cognito-identity-js's (loaded by a
// script tag as the global AmazonCognitoIdentity): sign-up, confirmation
// and SRP sign-in. The identity pool's two calls are plain fetches.

import { AwsClient } from "aws4fetch";

/**
 * @typedef {{region: string, apiUrl: string, userPoolId: string, userPoolClientId: string,
 *   identityPoolId: string, userPoolEndpoint?: string, identityEndpoint?: string}} AuthConfig
 * @typedef {{accessKeyId: string, secretAccessKey: string, sessionToken: string, expiration: number}} Credentials
 */

// refreshMargin is how long before they expire credentials are renewed.
const refreshMargin = 5 * 60 * 1000;

/** @param {AuthConfig} config */
export function createAuth(config) {
  // @ts-ignore: the global of the script tag
  const Cognito = window.AmazonCognitoIdentity;
  const pool = new Cognito.CognitoUserPool({
    UserPoolId: config.userPoolId,
    ClientId: config.userPoolClientId,
    endpoint: config.userPoolEndpoint || undefined,
  });
  const identityEndpoint = config.identityEndpoint || `https://cognito-identity.${config.region}.amazonaws.com/`;
  const provider = `cognito-idp.${config.region}.amazonaws.com/${config.userPoolId}`;

  /** @type {Credentials | null} */
  let credentials = null;
  let identityId = "";
  // email is the signed-in user's address, from their ID token.
  let email = "";

  /** cognito makes one Cognito call by callback, as a promise. */
  const cognito = (/** @type {(cb: (err: any, res: any) => void) => void} */ f) =>
    new Promise((resolve, reject) => f((err, res) => (err ? reject(new Error(err.message || String(err))) : resolve(res))));

  /**
   * identityCall makes one unsigned Cognito Identity call (JSON 1.1).
   * @param {string} target
   * @param {object} body
   */
  async function identityCall(target, body) {
    let resp;
    try {
      resp = await fetch(identityEndpoint, {
        method: "POST",
        headers: { "Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": `AWSCognitoIdentityService.${target}` },
        body: JSON.stringify(body),
      });
    } catch {
      throw new Error(`Cognito Identity at ${identityEndpoint} cannot be reached`);
    }
    const data = await resp.json().catch(() => ({}));
    if (!resp.ok) throw new Error(data.message || data.__type || `${target} answered ${resp.status}`);
    return data;
  }

  /** session is the signed-in user's session, refreshed when its tokens have expired. */
  async function session() {
    const user = pool.getCurrentUser();
    if (!user) throw new Error("Not signed in");
    return /** @type {any} */ (await cognito((cb) => user.getSession(cb)));
  }

  /** fresh returns credentials good for at least refreshMargin, getting new ones when needed. */
  async function fresh() {
    if (credentials && credentials.expiration - Date.now() > refreshMargin) return credentials;
    const idToken = (await session()).getIdToken();
    email = idToken.payload.email || "";
    const logins = { [provider]: idToken.getJwtToken() };
    if (!identityId) {
      identityId = (await identityCall("GetId", { IdentityPoolId: config.identityPoolId, Logins: logins })).IdentityId;
    }
    const c = (await identityCall("GetCredentialsForIdentity", { IdentityId: identityId, Logins: logins })).Credentials;
    credentials = { accessKeyId: c.AccessKeyId, secretAccessKey: c.SecretKey, sessionToken: c.SessionToken, expiration: c.Expiration * 1000 };
    return credentials;
  }

  return {
    /** email is the signed-in user's address, or "" when no one is signed in. */
    email: () => email,
    identityId: () => identityId,
    /** signUp asks the pool for an account; the pool then sends a code to confirm. */
    async signUp(/** @type {string} */ email, /** @type {string} */ password) {
      const attrs = [new Cognito.CognitoUserAttribute({ Name: "email", Value: email })];
      await cognito((cb) => pool.signUp(email, password, attrs, [], cb));
    },
    async confirm(/** @type {string} */ email, /** @type {string} */ code) {
      const user = new Cognito.CognitoUser({ Username: email, Pool: pool });
      await cognito((cb) => user.confirmRegistration(code, true, cb));
    },
    /** signIn signs in with SRP (the password never leaves the page) and gets credentials. */
    async signIn(/** @type {string} */ email, /** @type {string} */ password) {
      const user = new Cognito.CognitoUser({ Username: email, Pool: pool });
      const details = new Cognito.AuthenticationDetails({ Username: email, Password: password });
      await new Promise((resolve, reject) =>
        user.authenticateUser(details, { onSuccess: resolve, onFailure: (/** @type {any} */ e) => reject(new Error(e.message || String(e))) }));
      credentials = null;
      identityId = "";
      await fresh();
    },
    /** resume gets credentials for a user still signed in from before (tokens in localStorage). */
    async resume() {
      if (!pool.getCurrentUser()) return false;
      await fresh();
      return true;
    },
    signOut() {
      pool.getCurrentUser()?.signOut();
      credentials = null;
      identityId = "";
      email = "";
    },
    /**
     * fetch is the browser's fetch, each call signed for API Gateway
     * (service execute-api) with credentials renewed before they expire.
     * @param {string} input
     * @param {RequestInit} [init]
     */
    async fetch(input, init) {
      const c = await fresh();
      const aws = new AwsClient({ ...c, service: "execute-api", region: config.region, retries: 0 });
      return aws.fetch(input, init);
    },
  };
}
