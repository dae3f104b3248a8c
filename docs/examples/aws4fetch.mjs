// Sign in and call the API with plain fetch: amazon-cognito-identity-js
// for the user pool (SRP), Cognito Identity's two calls for credentials,
// aws4fetch to sign each call. In a page, config is config.json.
import { AwsClient } from "aws4fetch";
import cognito from "amazon-cognito-identity-js";

const config = JSON.parse(process.env.SCRATCH_CONFIG);
const { SCRATCH_EMAIL: email, SCRATCH_PASSWORD: password } = process.env;

// 1. Sign in to the user pool (userPoolEndpoint is set locally only).
const pool = new cognito.CognitoUserPool({
  UserPoolId: config.userPoolId, ClientId: config.userPoolClientId, endpoint: config.userPoolEndpoint,
});
const user = new cognito.CognitoUser({ Username: email, Pool: pool });
const session = await new Promise((onSuccess, onFailure) =>
  user.authenticateUser(new cognito.AuthenticationDetails({ Username: email, Password: password }), { onSuccess, onFailure }));

// 2. Trade the ID token for the identity's credentials (identityEndpoint
// is set locally only: the API's own address).
const identity = async (target, body) => {
  const endpoint = config.identityEndpoint || `https://cognito-identity.${config.region}.amazonaws.com/`;
  const resp = await fetch(endpoint, { method: "POST", body: JSON.stringify(body), headers: {
    "Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": `AWSCognitoIdentityService.${target}` } });
  if (!resp.ok) throw new Error(`${target}: ${(await resp.json()).message}`);
  return resp.json();
};
const logins = { [`cognito-idp.${config.region}.amazonaws.com/${config.userPoolId}`]: session.getIdToken().getJwtToken() };
const { IdentityId } = await identity("GetId", { IdentityPoolId: config.identityPoolId, Logins: logins });
const { Credentials: c } = await identity("GetCredentialsForIdentity", { IdentityId, Logins: logins });

// 3. Sign every call (renew the credentials before c.Expiration, an hour).
const aws = new AwsClient({ accessKeyId: c.AccessKeyId, secretAccessKey: c.SecretKey, sessionToken: c.SessionToken,
  service: "execute-api", region: config.region, retries: 0 });
const created = await (await aws.fetch(`${config.apiUrl}/notes`, { method: "POST",
  headers: { "Content-Type": "application/json" }, body: JSON.stringify({ content: "hello from aws4fetch" }) })).json();
const notes = await (await aws.fetch(`${config.apiUrl}/notes`)).json();
console.log(JSON.stringify({ identityId: IdentityId, created, listed: notes.length }));
