// Sign in and call the API with Amplify v6: signIn (SRP), fetchAuthSession
// and its REST API, which signs each call with the identity's
// credentials. In a page, config is config.json.
import { Amplify } from "aws-amplify";
import { signIn, fetchAuthSession } from "aws-amplify/auth";
import { cognitoUserPoolsTokenProvider } from "aws-amplify/auth/cognito";
import { get, post } from "aws-amplify/api";

const config = JSON.parse(process.env.SCRATCH_CONFIG);
const { SCRATCH_EMAIL: email, SCRATCH_PASSWORD: password } = process.env;

// Amplify has a setting for a user pool's endpoint but none for an
// identity pool's (aws-amplify/amplify-js#11275): locally, a small
// credentials provider asks the API's own Cognito Identity endpoint.
// Deployed, leave out userPoolEndpoint and the second argument.
const identity = async (target, body) => {
  const resp = await fetch(config.identityEndpoint, { method: "POST", body: JSON.stringify(body), headers: {
    "Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": `AWSCognitoIdentityService.${target}` } });
  if (!resp.ok) throw new Error(`${target}: ${(await resp.json()).message}`);
  return resp.json();
};
const localCredentials = {
  async getCredentialsAndIdentityId({ tokens }) {
    if (!tokens?.idToken) return undefined; // no guests: the identity pool takes signed-in users only
    const logins = { [`cognito-idp.${config.region}.amazonaws.com/${config.userPoolId}`]: tokens.idToken.toString() };
    const { IdentityId } = await identity("GetId", { IdentityPoolId: config.identityPoolId, Logins: logins });
    const { Credentials: c } = await identity("GetCredentialsForIdentity", { IdentityId, Logins: logins });
    return { identityId: IdentityId, credentials: { accessKeyId: c.AccessKeyId, secretAccessKey: c.SecretKey,
      sessionToken: c.SessionToken, expiration: new Date(c.Expiration * 1000) } };
  },
  clearCredentialsAndIdentityId() {},
};

const auth = { Cognito: { userPoolId: config.userPoolId, userPoolClientId: config.userPoolClientId,
  identityPoolId: config.identityPoolId, userPoolEndpoint: config.userPoolEndpoint } };
const api = { REST: { notes: { endpoint: config.apiUrl, region: config.region } } };
if (config.identityEndpoint) {
  cognitoUserPoolsTokenProvider.setAuthConfig(auth); // what configure does when given no providers
  Amplify.configure({ Auth: auth, API: api }, { Auth: { tokenProvider: cognitoUserPoolsTokenProvider, credentialsProvider: localCredentials } });
} else {
  Amplify.configure({ Auth: auth, API: api });
}

await signIn({ username: email, password });
const { identityId } = await fetchAuthSession();
const created = await (await post({ apiName: "notes", path: "/notes",
  options: { body: { content: "hello from Amplify" } } }).response).body.json();
const notes = await (await get({ apiName: "notes", path: "/notes" }).response).body.json();
console.log(JSON.stringify({ identityId, created, listed: notes.length }));
