package main

import (
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/BurntSushi/toml"
	"github.com/scratch-notes/notes-api/routes"
	"gopkg.in/yaml.v3"
)

// yamlDoc is template.yaml as yaml.v3 nodes: CloudFormation's short tags
// (!Ref, !GetAtt, !Sub, ...) stay on the nodes instead of failing a decode.
type yamlDoc struct{ root *yaml.Node }

func loadTemplate(t *testing.T) yamlDoc {
	t.Helper()
	b, err := os.ReadFile("template.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var n yaml.Node
	if err := yaml.Unmarshal(b, &n); err != nil {
		t.Fatalf("template.yaml: %v", err)
	}
	return yamlDoc{root: n.Content[0]}
}

// at follows mapping keys and sequence indexes ("0") from n; nil when the
// path is not there.
func at(n *yaml.Node, path ...string) *yaml.Node {
	for _, p := range path {
		if n == nil {
			return nil
		}
		switch n.Kind {
		case yaml.MappingNode:
			var next *yaml.Node
			for i := 0; i+1 < len(n.Content); i += 2 {
				if n.Content[i].Value == p {
					next = n.Content[i+1]
				}
			}
			n = next
		case yaml.SequenceNode:
			var idx int
			for _, c := range p {
				idx = idx*10 + int(c-'0')
			}
			if idx >= len(n.Content) {
				return nil
			}
			n = n.Content[idx]
		default:
			return nil
		}
	}
	return n
}

func (d yamlDoc) must(t *testing.T, path ...string) *yaml.Node {
	t.Helper()
	n := at(d.root, path...)
	if n == nil {
		t.Fatalf("template.yaml has no %s", strings.Join(path, "."))
	}
	return n
}

// value is a scalar at path, failing when it is missing or not scalar.
func (d yamlDoc) value(t *testing.T, path ...string) string {
	t.Helper()
	n := d.must(t, path...)
	if n.Kind != yaml.ScalarNode {
		t.Fatalf("%s is not a scalar", strings.Join(path, "."))
	}
	return n.Value
}

func (d yamlDoc) equal(t *testing.T, want string, path ...string) {
	t.Helper()
	if got := d.value(t, path...); got != want {
		t.Fatalf("%s = %q, want %q", strings.Join(path, "."), got, want)
	}
}

// scalars lists a sequence's scalar values.
func scalars(n *yaml.Node) []string {
	var out []string
	if n != nil {
		for _, c := range n.Content {
			out = append(out, c.Value)
		}
	}
	return out
}

func TestTemplateFunction(t *testing.T) {
	d := loadTemplate(t)
	d.equal(t, "AWS::Serverless-2016-10-31", "Transform")
	f := []string{"Resources", "NotesFunction"}
	d.equal(t, "AWS::Serverless::Function", append(f, "Type")...)
	d.equal(t, "makefile", append(f, "Metadata", "BuildMethod")...)
	d.equal(t, "provided.al2023", append(f, "Properties", "Runtime")...)
	d.equal(t, "bootstrap", append(f, "Properties", "Handler")...)
	if got := scalars(d.must(t, append(f, "Properties", "Architectures")...)); strings.Join(got, ",") != "arm64" {
		t.Fatalf("Architectures = %v, want [arm64]", got)
	}
	if mem, err := strconv.Atoi(d.value(t, append(f, "Properties", "MemorySize")...)); err != nil || mem < 128 || mem > 10240 {
		t.Fatalf("MemorySize = %d, %v", mem, err)
	}
	if to, err := strconv.Atoi(d.value(t, append(f, "Properties", "Timeout")...)); err != nil || to < 3 || to >= 29 {
		t.Fatalf("Timeout = %d, want under API Gateway's 29 s", to)
	}

	// Every variable main reads is declared, so sam local --env-vars can set it.
	vars := d.must(t, append(f, "Properties", "Environment", "Variables")...)
	for _, v := range []string{"NOTES_TABLE", "ATTACHMENTS_BUCKET", "CORS_ALLOWED_ORIGINS", "CORS_ALLOW_CREDENTIALS",
		"CORS_MAX_AGE", "STRIPE_SECRET_KEY", "STRIPE_API_BASE", "DEV_IDENTITY_ID", "AWS_ENDPOINT_URL_DYNAMODB", "AWS_ENDPOINT_URL_S3"} {
		if at(vars, v) == nil {
			t.Fatalf("Environment.Variables has no %s", v)
		}
	}
	for v, ref := range map[string]string{"NOTES_TABLE": "NotesTable", "ATTACHMENTS_BUCKET": "AttachmentsBucket",
		"CORS_ALLOWED_ORIGINS": "AllowedOrigins", "STRIPE_SECRET_KEY": "StripeSecretKey"} {
		if n := at(vars, v); n.Tag != "!Ref" || n.Value != ref {
			t.Fatalf("%s = %s %s, want !Ref %s", v, n.Tag, n.Value, ref)
		}
	}

	// Least privilege: only the five item actions, on the table; objects
	// only under private/ in the bucket.
	stmts := d.must(t, append(f, "Properties", "Policies", "0", "Statement")...)
	var actions []string
	for _, s := range stmts.Content {
		for _, a := range scalars(at(s, "Action")) {
			actions = append(actions, a)
			if strings.Contains(a, "*") {
				t.Fatalf("wildcard action %s", a)
			}
		}
		res := at(s, "Resource")
		switch {
		case strings.HasPrefix(scalars(at(s, "Action"))[0], "dynamodb:"):
			if res.Tag != "!GetAtt" || res.Value != "NotesTable.Arn" {
				t.Fatalf("DynamoDB resource = %s %s, want !GetAtt NotesTable.Arn", res.Tag, res.Value)
			}
		case strings.HasPrefix(scalars(at(s, "Action"))[0], "s3:"):
			if res.Tag != "!Sub" || res.Value != "${AttachmentsBucket.Arn}/private/*" {
				t.Fatalf("S3 resource = %s %s", res.Tag, res.Value)
			}
		}
	}
	want := "dynamodb:GetItem dynamodb:PutItem dynamodb:UpdateItem dynamodb:DeleteItem dynamodb:Query s3:GetObject s3:PutObject s3:DeleteObject"
	if strings.Join(actions, " ") != want {
		t.Fatalf("actions = %v, want %s", actions, want)
	}

	// Events: everything signed through ANY /{proxy+}; OPTIONS unsigned.
	events := d.must(t, append(f, "Properties", "Events")...)
	var any, options bool
	for i := 1; i < len(events.Content); i += 2 {
		e := events.Content[i]
		if at(e, "Type").Value != "Api" || at(e, "Properties", "Path").Value != "/{proxy+}" {
			t.Fatalf("event %s is not an Api event on /{proxy+}", events.Content[i-1].Value)
		}
		if r := at(e, "Properties", "RestApiId"); r == nil || r.Tag != "!Ref" || r.Value != "NotesApi" {
			t.Fatalf("event %s is not on NotesApi", events.Content[i-1].Value)
		}
		switch at(e, "Properties", "Method").Value {
		case "ANY":
			any = at(e, "Properties", "Auth") == nil // the API's default: AWS_IAM
		case "OPTIONS":
			a := at(e, "Properties", "Auth", "Authorizer")
			options = a != nil && a.Value == "NONE"
		}
	}
	if !any || !options {
		t.Fatalf("events: ANY with the default IAM auth = %v, OPTIONS with Authorizer NONE = %v", any, options)
	}
}

func TestTemplateApi(t *testing.T) {
	d := loadTemplate(t)
	api := []string{"Resources", "NotesApi", "Properties"}
	d.equal(t, "AWS::Serverless::Api", "Resources", "NotesApi", "Type")
	d.equal(t, "AWS_IAM", append(api, "Auth", "DefaultAuthorizer")...)
	d.equal(t, "NONE", append(api, "Auth", "InvokeRole")...)
	d.equal(t, "3.0", append(api, "OpenApiVersion")...) // no stray "Stage" stage
	if n := d.must(t, append(api, "StageName")...); n.Tag != "!Ref" || n.Value != "Stage" {
		t.Fatalf("StageName = %s %s, want !Ref Stage", n.Tag, n.Value)
	}
	for _, rt := range []string{"DEFAULT_4XX", "DEFAULT_5XX"} {
		h := d.must(t, append(api, "GatewayResponses", rt, "ResponseParameters", "Headers")...)
		origin := at(h, "Access-Control-Allow-Origin")
		if origin == nil || origin.Tag != "!If" || scalars(origin)[1] != "'*'" || scalars(origin)[2] != "method.request.header.Origin" {
			t.Fatalf("%s Allow-Origin = %v", rt, origin)
		}
		if v := at(h, "Access-Control-Allow-Headers"); v == nil || !strings.Contains(v.Value, "X-Amz-Security-Token") || !strings.HasPrefix(v.Value, "'") {
			t.Fatalf("%s Allow-Headers = %v", rt, v)
		}
		if v := at(h, "Access-Control-Allow-Methods"); v == nil || v.Value != "'GET,POST,PUT,DELETE,OPTIONS'" {
			t.Fatalf("%s Allow-Methods = %v", rt, v)
		}
	}
	// One API, one stage: nothing else declares a stage or a deployment.
	res := d.must(t, "Resources")
	for i := 1; i < len(res.Content); i += 2 {
		switch at(res.Content[i], "Type").Value {
		case "AWS::ApiGateway::Stage", "AWS::ApiGateway::Deployment", "AWS::ApiGateway::RestApi":
			t.Fatalf("resource %s adds a stage or API of its own", res.Content[i-1].Value)
		}
	}
}

func TestTemplateData(t *testing.T) {
	d := loadTemplate(t)
	tb := []string{"Resources", "NotesTable", "Properties"}
	d.equal(t, "AWS::DynamoDB::Table", "Resources", "NotesTable", "Type")
	d.equal(t, "PAY_PER_REQUEST", append(tb, "BillingMode")...)
	d.equal(t, "true", append(tb, "PointInTimeRecoverySpecification", "PointInTimeRecoveryEnabled")...)
	d.equal(t, "userId", append(tb, "KeySchema", "0", "AttributeName")...)
	d.equal(t, "HASH", append(tb, "KeySchema", "0", "KeyType")...)
	d.equal(t, "noteId", append(tb, "KeySchema", "1", "AttributeName")...)
	d.equal(t, "RANGE", append(tb, "KeySchema", "1", "KeyType")...)
	for i := range 2 {
		d.equal(t, "S", append(tb, "AttributeDefinitions", string(rune('0'+i)), "AttributeType")...)
	}

	b := []string{"Resources", "AttachmentsBucket", "Properties"}
	rule := d.must(t, append(b, "CorsConfiguration", "CorsRules", "0")...)
	// Exactly what the presigned URLs are signed for, no more.
	if got, want := strings.Join(scalars(at(rule, "AllowedMethods")), ","), strings.Join(routes.FileMethods, ","); got != want {
		t.Fatalf("bucket AllowedMethods = %s, want %s", got, want)
	}
	if got, want := strings.Join(scalars(at(rule, "AllowedHeaders")), ","), strings.Join(routes.FileHeaders, ","); got != want {
		t.Fatalf("bucket AllowedHeaders = %s, want %s", got, want)
	}
	if got := strings.Join(scalars(at(rule, "ExposedHeaders")), ","); got != "ETag" {
		t.Fatalf("bucket ExposedHeaders = %s", got)
	}
	if o := at(rule, "AllowedOrigins"); o.Tag != "!Split" || at(o, "1").Tag != "!Ref" || at(o, "1").Value != "AllowedOrigins" {
		t.Fatalf("bucket AllowedOrigins does not follow the AllowedOrigins parameter")
	}
	for _, k := range []string{"BlockPublicAcls", "BlockPublicPolicy", "IgnorePublicAcls", "RestrictPublicBuckets"} {
		d.equal(t, "true", append(b, "PublicAccessBlockConfiguration", k)...)
	}
	d.must(t, append(b, "BucketEncryption", "ServerSideEncryptionConfiguration", "0", "ServerSideEncryptionByDefault", "SSEAlgorithm")...)
}

func TestTemplateIdentity(t *testing.T) {
	d := loadTemplate(t)
	if got := scalars(d.must(t, "Resources", "UserPool", "Properties", "UsernameAttributes")); strings.Join(got, ",") != "email" {
		t.Fatalf("UsernameAttributes = %v, want email sign-in", got)
	}
	d.equal(t, "false", "Resources", "UserPoolClient", "Properties", "GenerateSecret")
	d.equal(t, "false", "Resources", "IdentityPool", "Properties", "AllowUnauthenticatedIdentities")
	role := []string{"Resources", "AuthenticatedRole", "Properties"}
	trust := d.must(t, append(role, "AssumeRolePolicyDocument", "Statement", "0")...)
	if at(trust, "Principal", "Federated").Value != "cognito-identity.amazonaws.com" ||
		at(trust, "Condition", "ForAnyValue:StringLike", "cognito-identity.amazonaws.com:amr").Value != "authenticated" ||
		at(trust, "Condition", "StringEquals", "cognito-identity.amazonaws.com:aud").Value != "IdentityPool" {
		t.Fatal("the authenticated role does not trust only this identity pool's authenticated identities")
	}
	stmts := d.must(t, append(role, "Policies", "0", "PolicyDocument", "Statement")...)
	for _, s := range stmts.Content {
		res := at(s, "Resource")
		switch acts := strings.Join(scalars(at(s, "Action")), ","); {
		case at(s, "Action").Value == "execute-api:Invoke":
			if res.Tag != "!Sub" || !strings.HasSuffix(res.Value, ":${NotesApi}/*") {
				t.Fatalf("execute-api:Invoke on %s, want this API only", res.Value)
			}
		case strings.HasPrefix(acts, "s3:"):
			if res.Value != "${AttachmentsBucket.Arn}/private/${!cognito-identity.amazonaws.com:sub}/*" {
				t.Fatalf("S3 access on %s, want only the caller's private/ prefix", res.Value)
			}
		default:
			t.Fatalf("unexpected statement %v", acts)
		}
	}
	if r := d.must(t, "Resources", "IdentityPoolRoles", "Properties", "Roles", "authenticated"); r.Tag != "!GetAtt" || r.Value != "AuthenticatedRole.Arn" {
		t.Fatalf("authenticated identities get %s %s, want the AuthenticatedRole", r.Tag, r.Value)
	}
	if r := d.must(t, "Resources", "IdentityPoolRoles", "Properties", "IdentityPoolId"); r.Tag != "!Ref" || r.Value != "IdentityPool" {
		t.Fatal("the role attachment is not on this identity pool")
	}
}

func TestTemplateParametersAndOutputs(t *testing.T) {
	d := loadTemplate(t)
	for _, p := range []string{"Stage", "AllowedOrigins", "StripeSecretKey"} {
		d.must(t, "Parameters", p)
	}
	d.equal(t, "true", "Parameters", "StripeSecretKey", "NoEcho")
	for _, o := range []string{"ApiUrl", "Region", "UserPoolId", "UserPoolClientId", "IdentityPoolId", "AttachmentsBucketName"} {
		d.must(t, "Outputs", o, "Value")
	}
	if v := d.value(t, "Outputs", "ApiUrl", "Value"); !strings.Contains(v, "${NotesApi}.execute-api") || !strings.HasSuffix(v, "/${Stage}") {
		t.Fatalf("ApiUrl = %s", v)
	}
}

func TestSAMConfig(t *testing.T) {
	var cfg map[string]any
	meta, err := toml.DecodeFile("samconfig.toml", &cfg)
	if err != nil {
		t.Fatal(err)
	}
	if v, _ := cfg["version"].(float64); v != 0.1 {
		t.Fatalf("version = %v, want 0.1", cfg["version"])
	}
	for _, key := range [][]string{
		{"default", "build", "parameters"},
		{"default", "deploy", "parameters", "stack_name"},
		{"default", "deploy", "parameters", "resolve_s3"},
		{"default", "deploy", "parameters", "capabilities"},
		{"default", "deploy", "parameters", "confirm_changeset"},
		{"default", "local_start_api", "parameters", "port"},
		{"default", "local_start_api", "parameters", "env_vars"},
	} {
		if !meta.IsDefined(key...) {
			t.Fatalf("samconfig.toml has no %s", strings.Join(key, "."))
		}
	}
	local := cfg["default"].(map[string]any)["local_start_api"].(map[string]any)["parameters"].(map[string]any)
	if local["port"] != int64(3000) {
		t.Fatalf("local_start_api port = %v, want 3000", local["port"])
	}
	envFile := local["env_vars"].(string)
	b, err := os.ReadFile(envFile)
	if err != nil {
		t.Fatalf("env_vars file: %v", err)
	}
	// Everything the env-vars file sets must be declared on the function,
	// or sam local ignores it.
	var envVars map[string]map[string]string
	if err := yaml.Unmarshal(b, &envVars); err != nil {
		t.Fatal(err)
	}
	declared := at(loadTemplate(t).root, "Resources", "NotesFunction", "Properties", "Environment", "Variables")
	for k := range envVars["NotesFunction"] {
		if at(declared, k) == nil {
			t.Fatalf("%s sets %s, which the template does not declare", envFile, k)
		}
	}
	if envVars["NotesFunction"]["DEV_IDENTITY_ID"] == "" || envVars["NotesFunction"]["AWS_ENDPOINT_URL_DYNAMODB"] == "" {
		t.Fatalf("%s sets no dev identity or local DynamoDB endpoint", envFile)
	}
	deploy := cfg["default"].(map[string]any)["deploy"].(map[string]any)["parameters"].(map[string]any)
	if o, _ := deploy["parameter_overrides"].(string); strings.Contains(o, "StripeSecretKey") {
		t.Fatal("samconfig.toml must not hold the Stripe key")
	}
	all, _ := os.ReadFile("samconfig.toml")
	if regexp.MustCompile(`[sr]k_(live|test)_[A-Za-z0-9]`).Match(all) {
		t.Fatal("samconfig.toml holds something like a Stripe key")
	}
}
