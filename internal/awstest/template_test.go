package awstest

import (
	"cmp"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/BurntSushi/toml"
	"gopkg.in/yaml.v3"

	"github.com/scratch-notes/notes-api/attachments"
	"github.com/scratch-notes/notes-api/internal/testenv"
	"github.com/scratch-notes/notes-api/origins"
)

// The tests of template.yaml and samconfig.toml: each bullet of the issues
// that shaped them, read as CloudFormation and SAM CLI read them.

func TestTemplateFunction(t *testing.T) {
	d := LoadTemplate(t)
	d.Equal(t, "AWS::Serverless-2016-10-31", "Transform")
	f := []string{"Resources", "NotesFunction"}
	d.Equal(t, "AWS::Serverless::Function", append(f, "Type")...)
	d.Equal(t, "makefile", append(f, "Metadata", "BuildMethod")...)
	d.Equal(t, "provided.al2023", append(f, "Properties", "Runtime")...)
	d.Equal(t, "bootstrap", append(f, "Properties", "Handler")...)
	if got := Scalars(d.Must(t, append(f, "Properties", "Architectures")...)); strings.Join(got, ",") != "arm64" {
		t.Fatalf("Architectures = %v, want [arm64]", got)
	}
	if mem, err := strconv.Atoi(d.Value(t, append(f, "Properties", "MemorySize")...)); err != nil || mem < 128 || mem > 10240 {
		t.Fatalf("MemorySize = %d, %v", mem, err)
	}
	if to, err := strconv.Atoi(d.Value(t, append(f, "Properties", "Timeout")...)); err != nil || to < 3 || to >= 29 {
		t.Fatalf("Timeout = %d, want under API Gateway's 29 s", to)
	}

	// Every variable main reads is declared, so sam local --env-vars can set it.
	vars := d.Must(t, append(f, "Properties", "Environment", "Variables")...)
	// But AWS_SAM_LOCAL, which turns on the local identity rules: only sam
	// local may set it, never the function's environment (nor the
	// env-vars file, TestSAMConfig's).
	if At(vars, "AWS_SAM_LOCAL") != nil || At(d.Root, "Globals", "Function", "Environment", "Variables", "AWS_SAM_LOCAL") != nil {
		t.Fatal("the template sets AWS_SAM_LOCAL: deployed, anyone could be anyone")
	}
	for _, v := range []string{"NOTES_TABLE", "PURCHASES_TABLE", "ATTACHMENTS_BUCKET", "CORS_ALLOWED_ORIGINS", "CORS_ALLOW_CREDENTIALS",
		"CORS_MAX_AGE", "STRIPE_SECRET_ARN", "STRIPE_SECRET_KEY", "STRIPE_WEBHOOK_SECRET", "STRIPE_API_BASE", "DEV_IDENTITY_ID", "AWS_ENDPOINT_URL_DYNAMODB",
		"AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL_SECRETS_MANAGER"} {
		if At(vars, v) == nil {
			t.Fatalf("Environment.Variables has no %s", v)
		}
	}
	for v, ref := range map[string]string{"CORS_ALLOWED_ORIGINS": "AllowedOrigins", "STRIPE_SECRET_ARN": "StripeSecretArn"} {
		if n := At(vars, v); n.Tag != "!Ref" || n.Value != ref {
			t.Fatalf("%s = %s %s, want !Ref %s", v, n.Tag, n.Value, ref)
		}
	}
	// The stack's own table or bucket, or the one named to reuse.
	for v, r := range map[string][2]string{"NOTES_TABLE": {"MakeNotesTable", "NotesTable"}, "PURCHASES_TABLE": {"MakePurchasesTable", "PurchasesTable"},
		"ATTACHMENTS_BUCKET": {"MakeBucket", "AttachmentsBucket"}} {
		made, existing := ifMade(t, At(vars, v), r[0])
		if made.Tag != "!Ref" || made.Value != r[1] || existing.Tag != "!Ref" || existing.Value != "Existing"+r[1] {
			t.Fatalf("%s is not !Ref %s, or the existing one's name", v, r[1])
		}
	}

	// Least privilege: only the five item actions, on the notes table;
	// records and reads of payments, on the purchases table; objects and
	// their tags only under private/ in the bucket, and a listing of
	// private/ alone.
	stmts := d.Must(t, append(f, "Properties", "Policies", "0", "Statement")...)
	var actions []string
	for _, s := range stmts.Content {
		acts := Scalars(At(s, "Action"))
		if At(s, "Action").Kind == yaml.ScalarNode {
			acts = []string{At(s, "Action").Value}
		}
		for _, a := range acts {
			actions = append(actions, a)
			if strings.Contains(a, "*") {
				t.Fatalf("wildcard action %s", a)
			}
		}
		res := At(s, "Resource")
		switch {
		case At(s, "Sid").Value == "NotesTable", At(s, "Sid").Value == "PurchasesTable":
			table := At(s, "Sid").Value
			made, existing := ifMade(t, res, "Make"+table)
			if made.Tag != "!GetAtt" || made.Value != table+".Arn" || existing.Tag != "!Sub" ||
				existing.Value != "arn:${AWS::Partition}:dynamodb:${AWS::Region}:${AWS::AccountId}:table/${Existing"+table+"}" {
				t.Fatalf("DynamoDB resource of %s is not that table's ARN, or the existing one's", table)
			}
		case At(s, "Sid").Value == "Attachments":
			made, existing := ifMade(t, At(res, "1", "Bucket"), "MakeBucket")
			if res.Tag != "!Sub" || At(res, "0").Value != "${Bucket}/private/*" || made.Value != "AttachmentsBucket.Arn" ||
				existing.Value != "arn:${AWS::Partition}:s3:::${ExistingAttachmentsBucket}" {
				t.Fatal("S3 object actions are not on private/* of the bucket")
			}
		case At(s, "Sid").Value == "ListUsersFiles":
			made, existing := ifMade(t, res, "MakeBucket")
			if made.Value != "AttachmentsBucket.Arn" || existing.Value != "arn:${AWS::Partition}:s3:::${ExistingAttachmentsBucket}" ||
				At(s, "Condition", "StringLike", "s3:prefix").Value != "private/*" {
				t.Fatal("ListBucket is not on the bucket, for private/ only")
			}
		default:
			t.Fatalf("statement %s", At(s, "Sid").Value)
		}
	}
	want := "dynamodb:GetItem dynamodb:PutItem dynamodb:UpdateItem dynamodb:DeleteItem dynamodb:Query dynamodb:GetItem dynamodb:PutItem dynamodb:Query " +
		"s3:GetObject s3:PutObject s3:PutObjectTagging s3:DeleteObject s3:DeleteObjectTagging s3:ListBucket"
	if strings.Join(actions, " ") != want {
		t.Fatalf("actions = %v, want %s", actions, want)
	}
	// The Stripe key: no key in the environment, only the secret's ARN,
	// readable by this function only when there is one, and only it.
	for _, k := range []string{"STRIPE_SECRET_KEY", "STRIPE_WEBHOOK_SECRET"} {
		if v := At(vars, k); v.Tag == "!Ref" || v.Value != "" {
			t.Fatalf("%s = %s %q, want it declared empty (for sam local only)", k, v.Tag, v.Value)
		}
	}
	secret := d.Must(t, append(f, "Properties", "Policies", "1")...)
	stmt := At(secret, "2")
	if secret.Tag != "!If" || At(secret, "0").Value != "HasStripeSecret" || At(stmt, "Value") != nil ||
		At(secret, "1", "Statement", "0", "Action").Value != "secretsmanager:GetSecretValue" ||
		At(secret, "1", "Statement", "0", "Resource").Tag != "!Ref" || At(secret, "1", "Statement", "0", "Resource").Value != "StripeSecretArn" ||
		stmt.Tag != "!Ref" || stmt.Value != "AWS::NoValue" {
		t.Fatal("the secret's policy is not: secretsmanager:GetSecretValue on StripeSecretArn, if there is one")
	}

	// Events: everything signed through ANY /{proxy+}; OPTIONS unsigned;
	// GET / and GET /openapi.json unsigned; Stripe's POST /billing/webhook
	// unsigned (Stripe signs it), the one unsigned route that writes; the
	// reconcile's schedule, on only with a Stripe key; and nothing else.
	events := d.Must(t, append(f, "Properties", "Events")...)
	var any, options bool
	var unsigned []string
	for i := 1; i < len(events.Content); i += 2 {
		e := events.Content[i]
		if name := events.Content[i-1].Value; At(e, "Type").Value == "Schedule" && name == "Reconcile" {
			state := At(e, "Properties", "State")
			if At(e, "Properties", "Schedule").Value != "ReconcileSchedule" || state.Tag != "!If" || At(state, "0").Value != "ReconcileOn" ||
				At(state, "1").Value != "ENABLED" || At(state, "2").Value != "DISABLED" {
				t.Fatal("the Reconcile schedule is not ReconcileSchedule, ENABLED only when ReconcileOn")
			}
			arn := "arn:aws:secretsmanager:us-east-1:123456789012:secret:stripe-AbCdEf"
			for _, tc := range []struct {
				params map[string]string
				on     bool
			}{{map[string]string{}, false}, {map[string]string{"StripeSecretArn": arn}, true},
				{map[string]string{"StripeSecretArn": arn, "Reconcile": "false"}, false}} {
				if got := d.Holds(t, "ReconcileOn", tc.params); got != tc.on {
					t.Fatalf("ReconcileOn with %v = %v, want %v: with no Stripe key it would fail every run", tc.params, got, tc.on)
				}
			}
			continue
		}
		if At(e, "Type").Value != "Api" {
			t.Fatalf("event %s is not an Api event", events.Content[i-1].Value)
		}
		if r := At(e, "Properties", "RestApiId"); r == nil || r.Tag != "!Ref" || r.Value != "NotesApi" {
			t.Fatalf("event %s is not on NotesApi", events.Content[i-1].Value)
		}
		p, m := At(e, "Properties", "Path").Value, At(e, "Properties", "Method").Value
		a := At(e, "Properties", "Auth", "Authorizer")
		if p != "/{proxy+}" {
			if a == nil || a.Value != "NONE" {
				t.Fatalf("event %s on %s is not unsigned", events.Content[i-1].Value, p)
			}
			unsigned = append(unsigned, m+" "+p)
			continue
		}
		switch m {
		case "ANY":
			any = At(e, "Properties", "Auth") == nil // the API's default: AWS_IAM
		case "OPTIONS":
			options = a != nil && a.Value == "NONE"
		}
	}
	if !any || !options {
		t.Fatalf("events: ANY with the default IAM auth = %v, OPTIONS with Authorizer NONE = %v", any, options)
	}
	slices.Sort(unsigned)
	// The same as AUTH=iam leaves unsigned (iamauth).
	if got := strings.Join(unsigned, ", "); got != "GET /, GET /openapi.json, HEAD /, HEAD /openapi.json, POST /billing/webhook" {
		t.Fatalf("unsigned routes besides preflights: %s; want GET and HEAD of / and /openapi.json, POST /billing/webhook", got)
	}
}

func TestTemplateApi(t *testing.T) {
	d := LoadTemplate(t)
	api := []string{"Resources", "NotesApi", "Properties"}
	d.Equal(t, "AWS::Serverless::Api", "Resources", "NotesApi", "Type")
	d.Equal(t, "AWS_IAM", append(api, "Auth", "DefaultAuthorizer")...)
	d.Equal(t, "NONE", append(api, "Auth", "InvokeRole")...)
	d.Equal(t, "3.0", append(api, "OpenApiVersion")...) // no stray "Stage" stage
	if n := d.Must(t, append(api, "StageName")...); n.Tag != "!Ref" || n.Value != "Stage" {
		t.Fatalf("StageName = %s %s, want !Ref Stage", n.Tag, n.Value)
	}
	d.Equal(t, "true", append(api, "AlwaysDeploy")...) // a new AllowedOrigins reaches the gateway responses
	for _, rt := range []string{"DEFAULT_4XX", "DEFAULT_5XX"} {
		h := d.Must(t, append(api, "GatewayResponses", rt, "ResponseParameters", "Headers")...)
		for allowed, want := range map[string]string{
			"*":                       "'*'",
			"https://app.example.com": "'https://app.example.com'",
			"https://app.example.com,https://*.example.org": "method.request.header.Origin",
			"https://*.example.com":                         "method.request.header.Origin",
		} {
			if got := d.GatewayOrigin(t, At(h, "Access-Control-Allow-Origin"), allowed); got != want {
				t.Fatalf("%s Allow-Origin with AllowedOrigins=%s is %s, want %s", rt, allowed, got, want)
			}
		}
		if v := At(h, "Access-Control-Allow-Headers"); v == nil || !strings.Contains(v.Value, "X-Amz-Security-Token") || !strings.HasPrefix(v.Value, "'") {
			t.Fatalf("%s Allow-Headers = %v", rt, v)
		}
		if v := At(h, "Access-Control-Allow-Methods"); v == nil || v.Value != "'GET,POST,PUT,DELETE,OPTIONS'" {
			t.Fatalf("%s Allow-Methods = %v", rt, v)
		}
		// The body is spelled out, in the function's {"error"} shape.
		if v := d.Value(t, append(api, "GatewayResponses", rt, "ResponseTemplates", "application/json")...); v != `{"error":$context.error.messageString,"requestId":"$context.requestId"}` {
			t.Fatalf("%s body = %s", rt, v)
		}
	}
	// One API, one stage: nothing else declares a stage or a deployment.
	res := d.Must(t, "Resources")
	for i := 1; i < len(res.Content); i += 2 {
		switch At(res.Content[i], "Type").Value {
		case "AWS::ApiGateway::Stage", "AWS::ApiGateway::Deployment", "AWS::ApiGateway::RestApi":
			t.Fatalf("resource %s adds a stage or API of its own", res.Content[i-1].Value)
		}
	}
}

func TestTemplateData(t *testing.T) {
	d := LoadTemplate(t)
	tb := []string{"Resources", "NotesTable", "Properties"}
	d.Equal(t, "AWS::DynamoDB::Table", "Resources", "NotesTable", "Type")
	d.Equal(t, "PAY_PER_REQUEST", append(tb, "BillingMode")...)
	d.Equal(t, "true", append(tb, "PointInTimeRecoverySpecification", "PointInTimeRecoveryEnabled")...)
	d.Equal(t, "userId", append(tb, "KeySchema", "0", "AttributeName")...)
	d.Equal(t, "HASH", append(tb, "KeySchema", "0", "KeyType")...)
	d.Equal(t, "noteId", append(tb, "KeySchema", "1", "AttributeName")...)
	d.Equal(t, "RANGE", append(tb, "KeySchema", "1", "KeyType")...)
	for i := range 2 {
		d.Equal(t, "S", append(tb, "AttributeDefinitions", string(rune('0'+i)), "AttributeType")...)
	}
	pt := []string{"Resources", "PurchasesTable", "Properties"}
	d.Equal(t, "AWS::DynamoDB::Table", "Resources", "PurchasesTable", "Type")
	d.Equal(t, "PAY_PER_REQUEST", append(pt, "BillingMode")...)
	d.Equal(t, "true", append(pt, "PointInTimeRecoverySpecification", "PointInTimeRecoveryEnabled")...)
	d.Equal(t, "userId", append(pt, "KeySchema", "0", "AttributeName")...)
	d.Equal(t, "purchaseId", append(pt, "KeySchema", "1", "AttributeName")...)

	b := []string{"Resources", "AttachmentsBucket", "Properties"}
	rule := d.Must(t, append(b, "CorsConfiguration", "CorsRules", "0")...)
	// Exactly what the presigned URLs are signed for, no more.
	if got, want := strings.Join(Scalars(At(rule, "AllowedMethods")), ","), strings.Join(origins.FileMethods, ","); got != want {
		t.Fatalf("bucket AllowedMethods = %s, want %s", got, want)
	}
	if got, want := strings.Join(Scalars(At(rule, "AllowedHeaders")), ","), strings.Join(origins.FileHeaders, ","); got != want {
		t.Fatalf("bucket AllowedHeaders = %s, want %s", got, want)
	}
	if got := strings.Join(Scalars(At(rule, "ExposedHeaders")), ","); got != "ETag" {
		t.Fatalf("bucket ExposedHeaders = %s", got)
	}
	// An upload no note names is swept after a day (its pending tag), and
	// so is an upload never finished.
	rules := d.Must(t, append(b, "LifecycleConfiguration", "Rules")...)
	var sweep, abort bool
	val := func(n *yaml.Node, path ...string) string {
		if n = At(n, path...); n == nil {
			return ""
		}
		return n.Value
	}
	for _, r := range rules.Content {
		if val(r, "Status") != "Enabled" {
			continue
		}
		if val(r, "TagFilters", "0", "Key") == "pending" && val(r, "TagFilters", "0", "Value") == "true" &&
			val(r, "ExpirationInDays") == "1" && At(r, "Prefix") == nil && len(At(r, "TagFilters").Content) == 1 {
			sweep = true
		}
		if val(r, "AbortIncompleteMultipartUpload", "DaysAfterInitiation") == "1" {
			abort = true
		}
	}
	if !sweep || !abort {
		t.Fatalf("lifecycle: pending files expire after a day = %v, incomplete uploads aborted = %v", sweep, abort)
	}
	if k, v, _ := strings.Cut(attachments.PendingTag, "="); k != "pending" || v != "true" {
		t.Fatalf("the API tags uploads %s, the lifecycle rule sweeps pending=true", attachments.PendingTag)
	}
	if o := At(rule, "AllowedOrigins"); o.Tag != "!Split" || At(o, "1").Tag != "!Ref" || At(o, "1").Value != "AllowedOrigins" {
		t.Fatalf("bucket AllowedOrigins does not follow the AllowedOrigins parameter")
	}
	for _, k := range []string{"BlockPublicAcls", "BlockPublicPolicy", "IgnorePublicAcls", "RestrictPublicBuckets"} {
		d.Equal(t, "true", append(b, "PublicAccessBlockConfiguration", k)...)
	}
	d.Must(t, append(b, "BucketEncryption", "ServerSideEncryptionConfiguration", "0", "ServerSideEncryptionByDefault", "SSEAlgorithm")...)
}

func TestTemplateIdentity(t *testing.T) {
	d := LoadTemplate(t)
	if got := Scalars(d.Must(t, "Resources", "UserPool", "Properties", "UsernameAttributes")); strings.Join(got, ",") != "email" {
		t.Fatalf("UsernameAttributes = %v, want email sign-in", got)
	}
	// Alice@x.com and alice@x.com are one account.
	d.Equal(t, "false", "Resources", "UserPool", "Properties", "UsernameConfiguration", "CaseSensitive")
	d.Equal(t, "false", "Resources", "UserPoolClient", "Properties", "GenerateSecret")
	d.Equal(t, "false", "Resources", "IdentityPool", "Properties", "AllowUnauthenticatedIdentities")
	role := []string{"Resources", "AuthenticatedRole", "Properties"}
	trust := d.Must(t, append(role, "AssumeRolePolicyDocument", "Statement", "0")...)
	if At(trust, "Principal", "Federated").Value != "cognito-identity.amazonaws.com" ||
		At(trust, "Condition", "ForAnyValue:StringLike", "cognito-identity.amazonaws.com:amr").Value != "authenticated" ||
		!madeRef(t, At(trust, "Condition", "StringEquals", "cognito-identity.amazonaws.com:aud"), "MakeIdentityPool", "IdentityPool") {
		t.Fatal("the authenticated role does not trust only this identity pool's authenticated identities")
	}
	// A signed-in user may call this API and nothing else: no S3 right of
	// their own to put a file around the API's size, type and name checks.
	stmts := d.Must(t, append(role, "Policies", "0", "PolicyDocument", "Statement")...)
	if len(stmts.Content) != 1 || At(stmts, "0", "Action").Value != "execute-api:Invoke" {
		t.Fatalf("the authenticated role may do %d things, want execute-api:Invoke alone", len(stmts.Content))
	}
	if res := At(stmts, "0", "Resource"); res.Tag != "!Sub" || !strings.HasSuffix(res.Value, ":${NotesApi}/*") {
		t.Fatalf("execute-api:Invoke on %s, want this API only", res.Value)
	}
	if len(d.Must(t, append(role, "Policies")...).Content) != 1 {
		t.Fatal("the authenticated role has more than its one policy")
	}
	if r := d.Must(t, "Resources", "IdentityPoolRoles", "Properties", "Roles", "authenticated"); r.Tag != "!GetAtt" || r.Value != "AuthenticatedRole.Arn" {
		t.Fatalf("authenticated identities get %s %s, want the AuthenticatedRole", r.Tag, r.Value)
	}
	if r := d.Must(t, "Resources", "IdentityPoolRoles", "Properties", "IdentityPoolId"); !madeRef(t, r, "MakeIdentityPool", "IdentityPool") {
		t.Fatal("the role attachment is not on this identity pool")
	}
}

func TestTemplateParametersAndOutputs(t *testing.T) {
	d := LoadTemplate(t)
	for _, p := range []string{"Stage", "AllowedOrigins", "StripeSecretArn"} {
		d.Must(t, "Parameters", p)
	}
	// sam deploy --guided re-asks a NoEcho parameter left empty: every
	// parameter can be answered with its default or empty.
	for _, p := range []string{"Stage", "AllowedOrigins", "StripeSecretArn"} {
		if At(d.Root, "Parameters", p, "NoEcho") != nil {
			t.Fatalf("parameter %s is NoEcho", p)
		}
		def := At(d.Root, "Parameters", p, "Default")
		if def == nil {
			t.Fatalf("parameter %s has no default", p)
		}
		if pat := At(d.Root, "Parameters", p, "AllowedPattern"); pat != nil && !regexp.MustCompile(pat.Value).MatchString(def.Value) {
			t.Fatalf("parameter %s: its default %q does not match its AllowedPattern", p, def.Value)
		}
	}
	if regexp.MustCompile(d.Value(t, "Parameters", "AllowedOrigins", "AllowedPattern")).MatchString("") {
		t.Fatal("AllowedOrigins takes an empty value")
	}
	arn := regexp.MustCompile(d.Value(t, "Parameters", "StripeSecretArn", "AllowedPattern"))
	for v, ok := range map[string]bool{
		"": true, "arn:aws:secretsmanager:eu-west-1:123456789012:secret:stripe-AbCdEf": true,
		"arn:aws:secretsmanager:us-east-1:123456789012:secret:scratch/stripe-x1Y2z3":    true,
		"arn:aws-us-gov:secretsmanager:us-gov-west-1:123456789012:secret:stripe-AbCdEf": true,
		"sk_live_abc": false, "arn:aws:secretsmanager:eu-west-1:123456789012:secret:stripe": false,
		"arn:aws:secretsmanager:eu-west-1:123456789012:secret:": false, "arn:aws:secretsmanager:eu-west-1:1234:secret:s-AbCdEf": false,
		"scratch/stripe": false, "arn:aws:secretsmanager:eu-west-1:123456789012:secret:stripe-AbCdEf ": false,
	} {
		if arn.MatchString(v) != ok {
			t.Errorf("StripeSecretArn %q taken = %v, want %v", v, !ok, ok)
		}
	}
	for _, o := range []string{"ApiUrl", "Region", "UserPoolId", "UserPoolClientId", "IdentityPoolId", "AttachmentsBucketName", "StripeWebhookUrl"} {
		d.Must(t, "Outputs", o, "Value")
	}
	// The URL the frontend uses: the custom domain when there is one.
	api, webhook := d.Must(t, "Outputs", "ApiUrl", "Value"), d.Must(t, "Outputs", "StripeWebhookUrl", "Value")
	if api.Tag != "!If" || At(api, "0").Value != "HasDomain" || At(api, "1").Value != "https://${DomainName}" ||
		!strings.Contains(At(api, "2").Value, "${NotesApi}.execute-api") || !strings.HasSuffix(At(api, "2").Value, "/${Stage}") {
		t.Fatalf("ApiUrl = %v", api)
	}
	for i := range 2 {
		if v, want := At(webhook, fmt.Sprint(i+1)).Value, At(api, fmt.Sprint(i+1)).Value+"/billing/webhook"; v != want {
			t.Fatalf("StripeWebhookUrl = %s, want %s", v, want)
		}
	}
}

func TestSAMConfig(t *testing.T) {
	var cfg map[string]any
	meta, err := toml.DecodeFile(filepath.Join(testenv.Root(), "samconfig.toml"), &cfg)
	if err != nil {
		t.Fatal(err)
	}
	if v, _ := cfg["version"].(float64); v != 0.1 {
		t.Fatalf("version = %v, want 0.1", cfg["version"])
	}
	for _, key := range [][]string{
		{"default", "build", "parameters", "build_in_source"},
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
	b, err := os.ReadFile(filepath.Join(testenv.Root(), envFile))
	if err != nil {
		t.Fatalf("env_vars file: %v", err)
	}
	// Everything the env-vars file sets must be declared on the function,
	// or sam local ignores it.
	var envVars map[string]map[string]string
	if err := yaml.Unmarshal(b, &envVars); err != nil {
		t.Fatal(err)
	}
	declared := At(LoadTemplate(t).Root, "Resources", "NotesFunction", "Properties", "Environment", "Variables")
	for k := range envVars["NotesFunction"] {
		if At(declared, k) == nil {
			t.Fatalf("%s sets %s, which the template does not declare", envFile, k)
		}
	}
	if envVars["NotesFunction"]["DEV_IDENTITY_ID"] == "" || envVars["NotesFunction"]["AWS_ENDPOINT_URL_DYNAMODB"] == "" {
		t.Fatalf("%s sets no dev identity or local DynamoDB endpoint", envFile)
	}
	if envVars["NotesFunction"]["ATTACHMENTS_BUCKET"] != "" {
		t.Fatalf("%s names a bucket: sam local would presign for the template's logical id", envFile)
	}
	// Every sam local command the docs show has the same settings.
	readme, _ := os.ReadFile(filepath.Join(testenv.Root(), "docs", "local.md"))
	cmds := regexp.MustCompile(`sam local ([a-z-]+)`).FindAllStringSubmatch(string(readme), -1)
	if len(cmds) < 2 {
		t.Fatalf("docs/local.md shows %d sam local commands, want start-api and invoke at least", len(cmds))
	}
	for _, m := range cmds {
		section := "local_" + strings.ReplaceAll(m[1], "-", "_")
		sec, _ := cfg["default"].(map[string]any)[section].(map[string]any)
		p, ok := sec["parameters"].(map[string]any)
		if !ok || p["env_vars"] != envFile || !slices.Contains(toStrings(p["add_host"]), "host.docker.internal:host-gateway") {
			t.Fatalf("sam local %s: samconfig.toml [default.%s.parameters] lacks env_vars %s or the host mapping: %v", m[1], section, envFile, p)
		}
	}
	// dev and prod: a stack each, prod asking before it changes anything,
	// each with the stage it is named for.
	for env, confirm := range map[string]bool{"dev": false, "prod": true} {
		p, ok := cfg[env].(map[string]any)["deploy"].(map[string]any)["parameters"].(map[string]any)
		if !ok || p["stack_name"] != "scratch-notes-"+env || p["confirm_changeset"] != confirm ||
			!strings.Contains(p["parameter_overrides"].(string), `Stage="`+env+`"`) || p["capabilities"] != "CAPABILITY_IAM" {
			t.Fatalf("samconfig.toml [%s.deploy.parameters] = %v", env, p)
		}
		// Every override names a parameter of the template.
		for _, kv := range strings.Fields(p["parameter_overrides"].(string)) {
			k, _, _ := strings.Cut(kv, "=")
			LoadTemplate(t).Must(t, "Parameters", k)
		}
	}
	deploy := cfg["default"].(map[string]any)["deploy"].(map[string]any)["parameters"].(map[string]any)
	if o, _ := deploy["parameter_overrides"].(string); strings.Contains(o, "StripeSecretKey") {
		t.Fatal("samconfig.toml must not hold the Stripe key")
	}
	all, _ := os.ReadFile(filepath.Join(testenv.Root(), "samconfig.toml"))
	if regexp.MustCompile(`[sr]k_(live|test)_[A-Za-z0-9]`).Match(all) {
		t.Fatal("samconfig.toml holds something like a Stripe key")
	}
}

func toStrings(v any) []string {
	var out []string
	if l, ok := v.([]any); ok {
		for _, e := range l {
			if s, ok := e.(string); ok {
				out = append(out, s)
			}
		}
	}
	return out
}

// TestTemplateKeepsData: deleting or replacing the stack never deletes
// users' data.
func TestTemplateKeepsData(t *testing.T) {
	d := LoadTemplate(t)
	for _, r := range []string{"NotesTable", "PurchasesTable", "UserPool", "IdentityPool", "AttachmentsBucket"} {
		d.Equal(t, "Retain", "Resources", r, "DeletionPolicy")
		d.Equal(t, "Retain", "Resources", r, "UpdateReplacePolicy")
	}
}

// TestCfnLint runs cfn-lint (on this kind of machine; it transforms the
// template with AWS's own SAM translator) with its informational checks:
// no finding at all.
func TestCfnLint(t *testing.T) {
	lint := testenv.Need(t, "cfn-lint")
	cmd := exec.Command(lint, "--format", "parseable", "--include-checks", "I", "--", "template.yaml")
	cmd.Dir = testenv.Root()
	out, err := cmd.CombinedOutput()
	if err != nil || len(strings.TrimSpace(string(out))) > 0 {
		t.Fatalf("cfn-lint: %v\n%s", err, out)
	}
}

// originValues are what people type for AllowedOrigins: the docs'
// examples, and each slip the deploying issue names.
var originValues = map[string]bool{
	"*": true, "https://app.example.com": true, "https://app.example.com,https://*.example.org": true,
	"http://localhost:5173": true, "https://*.example.com": true, "http://127.0.0.1:3000": true, "https://[::1]:8443": true,
	"https://app.example.com:443": true, "https://App.Example.com": true, "https://xn--bcher-kva.example": true,
	"https://app.example.com/": false, "https://app.example.com/path": false, "https://app.example.com?x=1": false,
	"https://app.example.com#top": false, "https://user@app.example.com": false, "https://app.*.com": false,
	"https://*.com": false, "https://*.": false, "https://*.*.example.com": false, "app.example.com": false,
	"ftp://app.example.com": false, "HTTPS://app.example.com": false, "https://app.example.com:0": false,
	"https://app.example.com:65536": false, "https://app.example.com:080": false, "https://bücher.example": false,
	"https://a.example.com, https://b.example.com": false, "https://a.com,": false, ",https://a.com": false,
	"*,https://a.com": false, "https://a.com,*": false, "https://-a.example.com": false, "https://a-.example.com": false,
	"https://a..example.com": false, "https://app.example.com.": false, " https://app.example.com": false,
	"https://[]": false, "https://a.example.com\\": false,
}

// TestAllowedOriginsOneRule: every value the template's AllowedOrigins
// takes, the function takes, and every value it refuses, the function
// refuses: no value deploys a stack whose function then refuses to start.
func TestAllowedOriginsOneRule(t *testing.T) {
	pattern := regexp.MustCompile(LoadTemplate(t).Value(t, "Parameters", "AllowedOrigins", "AllowedPattern"))
	for v, want := range originValues {
		_, err := origins.Parse(v)
		if template, function := pattern.MatchString(v), err == nil; template != function || template != want {
			t.Errorf("AllowedOrigins %q: the template takes it %v, the function %v (%v); want both %v", v, template, function, err, want)
		}
	}
}

// ifMade is the two branches of n, which must be !If [cond, made,
// existing]: what the stack makes, or what a parameter names to reuse.
func ifMade(t *testing.T, n *yaml.Node, cond string) (made, existing *yaml.Node) {
	t.Helper()
	if n == nil || n.Tag != "!If" || At(n, "0").Value != cond || len(n.Content) != 3 {
		t.Fatalf("want !If [%s, ...], got %v", cond, n)
	}
	return At(n, "1"), At(n, "2")
}

// madeRef reports whether n is !If [cond, !Ref resource, !Ref
// Existing<resource>Id].
func madeRef(t *testing.T, n *yaml.Node, cond, resource string) bool {
	t.Helper()
	made, existing := ifMade(t, n, cond)
	return made.Tag == "!Ref" && made.Value == resource && existing.Tag == "!Ref" && existing.Value == "Existing"+resource+"Id"
}

// TestTemplateReuse: a new stack can take over what an earlier one kept,
// or what the original Node.js app made: each of the tables, the bucket
// and the Cognito pools is made only when no existing one is named
// (empty by default, so a guided deploy's defaults make them all), and
// everything that names it names the one in use.
func TestTemplateReuse(t *testing.T) {
	d := LoadTemplate(t)
	for resource, param := range map[string]string{"NotesTable": "ExistingNotesTable", "PurchasesTable": "ExistingPurchasesTable",
		"AttachmentsBucket": "ExistingAttachmentsBucket", "UserPool": "ExistingUserPoolId", "UserPoolClient": "ExistingUserPoolClientId",
		"IdentityPool": "ExistingIdentityPoolId"} {
		d.Equal(t, "", "Parameters", param, "Default")
		cond := d.Value(t, "Resources", resource, "Condition")
		c := d.Must(t, "Conditions", cond)
		if c.Tag != "!Equals" || At(c, "0").Tag != "!Ref" || At(c, "0").Value != param || At(c, "1").Value != "" {
			t.Fatalf("%s is made on %s, want when %s is empty", resource, cond, param)
		}
	}
	// The outputs name what is in use, made or reused.
	for output, r := range map[string][2]string{"UserPoolId": {"MakeUserPool", "UserPool"}, "IdentityPoolId": {"MakeIdentityPool", "IdentityPool"}} {
		if !madeRef(t, d.Must(t, "Outputs", output, "Value"), r[0], r[1]) {
			t.Fatalf("output %s does not name the pool in use", output)
		}
	}
	// An existing identity pool trusts an existing user pool and client:
	// CloudFormation refuses one without them.
	for _, rule := range []string{"ClientOfItsPool", "IdentityPoolOfItsUsers"} {
		d.Must(t, "Rules", rule, "Assertions", "0", "Assert")
	}
}

// operations are parameter values that turn on, or off, each thing an
// operator may ask of the stack.
var operations = map[string]map[string]string{
	"defaults": {},
	"everything on": {"AlarmEmail": "ops@example.com", "ApiAccessLogs": "true", "CreateApiGatewayAccountRole": "true",
		"Tracing": "Active", "ReservedConcurrency": "20", "DomainName": "api.example.com", "LogLevel": "ERROR",
		"CertificateArn": "arn:aws:acm:us-east-1:123456789012:certificate/0a1b2c3d-4e5f-6789-abcd-ef0123456789", "HostedZoneId": "Z0123456789ABCDEFGHIJ"},
	"alarms only":      {"AlarmEmail": "ops@example.com"},
	"access logs only": {"ApiAccessLogs": "true"},
	"debug log":        {"LogLevel": "DEBUG"},
	"warnings only":    {"LogLevel": "WARN"},
}

// TestTemplateOperations evaluates the template for each of operations, as
// CloudFormation would, and checks what an operator gets: the function's
// log in a group with a retention, in JSON filtered by level; API
// Gateway's access log only when asked, and the account's role for it
// only when asked; alarms only with an e-mail, every one sent to its
// topic; throttling on the stage; tracing and reserved concurrency as
// asked; the custom domain only when given.
func TestTemplateOperations(t *testing.T) {
	d := LoadTemplate(t)
	alarms := []string{"Api5xxAlarm", "ApiLatencyAlarm", "FunctionErrorsAlarm", "FunctionThrottlesAlarm", "FunctionDurationAlarm",
		"TableThrottlesAlarm", "TableErrorsAlarm", "BillingFailuresAlarm", "PaymentMismatchesAlarm"}
	fn := []string{"Resources", "NotesFunction", "Properties"}
	api := []string{"Resources", "NotesApi", "Properties"}
	for name, params := range operations {
		t.Run(name, func(t *testing.T) {
			on := func(p string) bool {
				return d.Param(t, p, params) != "" && d.Param(t, p, params) != "false" && d.Param(t, p, params) != "0"
			}
			exists := func(r string) bool { return d.Exists(t, r, params) }

			// Logs: always a group of the function's own, with a retention.
			if !exists("FunctionLogGroup") || d.Value(t, "Resources", "FunctionLogGroup", "Properties", "RetentionInDays") != "LogRetentionInDays" {
				t.Fatal("the function's log group is not there with RetentionInDays from LogRetentionInDays")
			}
			lc := d.Must(t, append(fn, "LoggingConfig")...)
			if At(lc, "LogFormat").Value != "JSON" || At(lc, "LogGroup").Value != "FunctionLogGroup" {
				t.Fatal("the function's LoggingConfig is not JSON into its log group")
			}
			// The function filters its own lines at LogLevel; Lambda's
			// filter must never drop a metric line (INFO), and keeps DEBUG
			// lines when asked for them.
			if d.Value(t, append(fn, "Environment", "Variables", "LOG_LEVEL")...) != "LogLevel" {
				t.Fatal("the function's LOG_LEVEL is not LogLevel")
			}
			app := At(lc, "ApplicationLogLevel")
			lambdaLevel := At(app, "2").Value
			if app.Tag != "!If" || At(app, "1").Value != "DEBUG" {
				t.Fatalf("ApplicationLogLevel is %v, want !If [DebugLog, DEBUG, INFO]", app.Value)
			}
			if d.Holds(t, At(app, "0").Value, params) {
				lambdaLevel = "DEBUG"
			}
			if want := map[string]string{"DEBUG": "DEBUG"}[d.Param(t, "LogLevel", params)]; lambdaLevel != cmp.Or(want, "INFO") {
				t.Fatalf("LogLevel %s makes Lambda's application log level %s: metric lines are INFO", d.Param(t, "LogLevel", params), lambdaLevel)
			}
			if got := d.Holds(t, "QuietSystemLog", params); got != (d.Param(t, "LogLevel", params) == "ERROR") {
				t.Fatal("the system log level is not WARN exactly when LogLevel is ERROR")
			}
			if exists("ApiAccessLogGroup") != on("ApiAccessLogs") || d.Holds(t, "AccessLogs", params) != on("ApiAccessLogs") {
				t.Fatalf("access logs exist = %v, want %v", exists("ApiAccessLogGroup"), on("ApiAccessLogs"))
			}
			if set := d.Must(t, append(api, "AccessLogSetting")...); set.Tag != "!If" || At(set, "0").Value != "AccessLogs" ||
				At(set, "1", "DestinationArn").Value != "ApiAccessLogGroup.Arn" {
				t.Fatal("the access log setting is not the access log group's, when asked")
			}
			if exists("ApiGatewayAccount") != on("CreateApiGatewayAccountRole") || exists("ApiGatewayCloudWatchRole") != on("CreateApiGatewayAccountRole") {
				t.Fatal("the account's API Gateway role is made other than when asked")
			}

			// Alarms: all or none, each to the topic.
			if exists("AlarmTopic") != on("AlarmEmail") {
				t.Fatalf("the alarm topic exists = %v, want %v", exists("AlarmTopic"), on("AlarmEmail"))
			}
			for _, a := range alarms {
				if d.Value(t, "Resources", a, "Type") != "AWS::CloudWatch::Alarm" || exists(a) != on("AlarmEmail") {
					t.Fatalf("alarm %s exists = %v, want %v", a, exists(a), on("AlarmEmail"))
				}
				if At(d.Root, "Resources", a, "Properties", "AlarmActions", "0").Value != "AlarmTopic" {
					t.Fatalf("alarm %s does not tell the topic", a)
				}
			}
			res := d.Must(t, "Resources")
			for i := 0; i < len(res.Content); i += 2 {
				if At(res.Content[i+1], "Type").Value == "AWS::CloudWatch::Alarm" && !slices.Contains(alarms, res.Content[i].Value) {
					t.Fatalf("alarm %s is not one this test knows", res.Content[i].Value)
				}
			}

			// Limits.
			ms := d.Must(t, append(api, "MethodSettings", "0")...)
			if At(ms, "ResourcePath").Value != "/*" || At(ms, "HttpMethod").Value != "*" ||
				At(ms, "ThrottlingRateLimit").Value != "ThrottlingRateLimit" || At(ms, "ThrottlingBurstLimit").Value != "ThrottlingBurstLimit" {
				t.Fatal("the stage is not throttled by ThrottlingRateLimit and ThrottlingBurstLimit")
			}
			if d.Holds(t, "HasReservedConcurrency", params) != on("ReservedConcurrency") {
				t.Fatal("reserved concurrency is set other than when asked")
			}
			if d.Value(t, append(fn, "Tracing")...) != "Tracing" || d.Holds(t, "ActiveTracing", params) != (d.Param(t, "Tracing", params) == "Active") {
				t.Fatal("tracing does not follow Tracing")
			}

			// The custom domain.
			for _, r := range []string{"ApiDomain", "ApiDomainMapping", "ApiDomainRecord"} {
				if exists(r) != on("DomainName") {
					t.Fatalf("%s exists = %v, want %v", r, exists(r), on("DomainName"))
				}
			}
		})
	}
}

// TestCfnLintOperations: cfn-lint finds nothing in the template with each
// of operations as its parameters' defaults.
func TestCfnLintOperations(t *testing.T) {
	lint := testenv.Need(t, "cfn-lint")
	raw, err := os.ReadFile(filepath.Join(testenv.Root(), "template.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	var files []string
	for name, params := range operations {
		var doc yaml.Node
		if err := yaml.Unmarshal(raw, &doc); err != nil {
			t.Fatal(err)
		}
		for k, v := range params {
			def := At(doc.Content[0], "Parameters", k, "Default")
			if def == nil {
				t.Fatalf("no parameter %s", k)
			}
			def.Value, def.Style, def.Tag = v, yaml.SingleQuotedStyle, "!!str"
		}
		out, err := yaml.Marshal(&doc)
		if err != nil {
			t.Fatal(err)
		}
		f := filepath.Join(dir, strings.ReplaceAll(name, " ", "-")+".yaml")
		os.WriteFile(f, out, 0o600)
		files = append(files, f)
	}
	cmd := exec.Command(lint, append([]string{"--format", "parseable", "--include-checks", "I", "--"}, files...)...)
	cmd.Dir = testenv.Root()
	if out, err := cmd.CombinedOutput(); err != nil || len(strings.TrimSpace(string(out))) > 0 {
		t.Fatalf("cfn-lint: %v\n%s", err, out)
	}
}

// TestDocsNameEachAlarm: docs/operations.md's table of alarms, which says
// what to look at first, has a row for each alarm the template makes, and
// no other.
func TestDocsNameEachAlarm(t *testing.T) {
	d := LoadTemplate(t)
	var alarms []string
	res := d.Must(t, "Resources")
	for i := 0; i+1 < len(res.Content); i += 2 {
		if At(res.Content[i+1], "Type").Value == "AWS::CloudWatch::Alarm" {
			alarms = append(alarms, res.Content[i].Value)
		}
	}
	readme, err := os.ReadFile(filepath.Join(testenv.Root(), "docs", "operations.md"))
	if err != nil {
		t.Fatal(err)
	}
	rows := regexp.MustCompile("(?m)^\\| `([A-Za-z0-9]+Alarm)` \\|").FindAllStringSubmatch(string(readme), -1)
	var named []string
	for _, r := range rows {
		named = append(named, r[1])
	}
	slices.Sort(alarms)
	slices.Sort(named)
	if len(alarms) == 0 || !slices.Equal(alarms, named) {
		t.Fatalf("the template's alarms %v, docs/operations.md's %v", alarms, named)
	}
}

// published are the dimension sets AWS publishes each metric the alarms
// watch with (CloudWatch has no metric of a subset of them): DynamoDB's
// per table and operation; Lambda's per function; API Gateway's per API
// and stage.
var published = map[string][]string{
	"AWS/DynamoDB ThrottledRequests": {"Operation", "TableName"},
	"AWS/DynamoDB SystemErrors":      {"Operation", "TableName"},
	"AWS/Lambda Errors":              {"FunctionName"},
	"AWS/Lambda Throttles":           {"FunctionName"},
	"AWS/Lambda Duration":            {"FunctionName"},
	"AWS/ApiGateway 5XXError":        {"ApiName", "Stage"},
	"AWS/ApiGateway Latency":         {"ApiName", "Stage"},
}

// TestAlarmsWatchPublishedMetrics: every alarm on an AWS namespace
// watches a metric with the dimensions AWS publishes it with, and the
// DynamoDB alarms watch each operation the function may call on each
// table (its policy's actions), both tables: an alarm with TableName alone
// watches nothing. (The function's own metrics: TestAlarmsWatchEmittedMetrics.)
func TestAlarmsWatchPublishedMetrics(t *testing.T) {
	d := LoadTemplate(t)
	// The operations the function may call, by table resource.
	allowed := map[string][]string{}
	for _, st := range d.Must(t, "Resources", "NotesFunction", "Properties", "Policies", "0", "Statement").Content {
		res := At(st, "Resource")
		if res.Tag != "!If" || !strings.HasSuffix(At(res, "1").Value, "Table.Arn") {
			continue
		}
		table := strings.TrimSuffix(At(res, "1").Value, ".Arn")
		for _, a := range Scalars(At(st, "Action")) {
			op, ok := strings.CutPrefix(a, "dynamodb:")
			if !ok {
				t.Fatalf("%s allows %s", table, a)
			}
			allowed[table] = append(allowed[table], op)
		}
	}
	if len(allowed) != 2 {
		t.Fatalf("the function's policy reaches tables %v, want the notes and purchases tables", allowed)
	}
	watched := map[string]map[string][]string{} // metric -> table -> operations
	for _, m := range d.AlarmMetrics(t) {
		if !strings.HasPrefix(m.Namespace, "AWS/") {
			continue
		}
		want, ok := published[m.Namespace+" "+m.Name]
		if !ok {
			t.Fatalf("%s watches %s %s: add the dimensions AWS publishes it with to published", m.Alarm, m.Namespace, m.Name)
		}
		got := slices.Sorted(maps.Keys(m.Dims))
		if !slices.Equal(got, want) {
			t.Fatalf("%s watches %s %s with dimensions %v: AWS publishes it with %v only", m.Alarm, m.Namespace, m.Name, got, want)
		}
		if m.Namespace != "AWS/DynamoDB" {
			continue
		}
		table := m.Dims["TableName"]
		if table.Tag != "!If" || At(table, "1").Tag != "!Ref" {
			t.Fatalf("%s watches table %v, not one the stack makes or is given", m.Alarm, table.Value)
		}
		if watched[m.Name] == nil {
			watched[m.Name] = map[string][]string{}
		}
		watched[m.Name][At(table, "1").Value] = append(watched[m.Name][At(table, "1").Value], m.Dims["Operation"].Value)
	}
	for _, metric := range []string{"ThrottledRequests", "SystemErrors"} {
		for table, ops := range allowed {
			got := slices.Sorted(slices.Values(watched[metric][table]))
			if want := slices.Sorted(slices.Values(ops)); !slices.Equal(got, want) {
				t.Errorf("the alarms watch %s of %s for %v; the function may call %v", metric, table, got, want)
			}
		}
	}
}

// TestDataSurvivesAMistake: both tables refuse a delete while
// TableDeletionProtection is on (its default, and prod's), besides
// outliving the stack and keeping point-in-time recovery; the attachments
// bucket is versioned, and forgets old versions after
// AttachmentVersionDays.
func TestDataSurvivesAMistake(t *testing.T) {
	d := LoadTemplate(t)
	d.Equal(t, "true", "Parameters", "TableDeletionProtection", "Default")
	for _, table := range []string{"NotesTable", "PurchasesTable"} {
		p := d.Must(t, "Resources", table, "Properties", "DeletionProtectionEnabled")
		if p.Tag != "!If" || At(p, "0").Value != "ProtectTables" || At(p, "1").Value != "true" || At(p, "2").Value != "false" {
			t.Fatalf("%s's deletion protection is not TableDeletionProtection's", table)
		}
		d.Equal(t, "true", "Resources", table, "Properties", "PointInTimeRecoverySpecification", "PointInTimeRecoveryEnabled")
		d.Equal(t, "Retain", "Resources", table, "DeletionPolicy")
	}
	for params, want := range map[string]bool{"false": false, "true": true} {
		if got := d.Holds(t, "ProtectTables", map[string]string{"TableDeletionProtection": params}); got != want {
			t.Fatalf("TableDeletionProtection=%s protects %v", params, got)
		}
	}
	if !d.Holds(t, "ProtectTables", map[string]string{}) {
		t.Fatal("the tables are not protected by default")
	}
	var cfg map[string]any
	if _, err := toml.DecodeFile(filepath.Join(testenv.Root(), "samconfig.toml"), &cfg); err != nil {
		t.Fatal(err)
	}
	prod := cfg["prod"].(map[string]any)["deploy"].(map[string]any)["parameters"].(map[string]any)["parameter_overrides"].(string)
	if !strings.Contains(prod, `TableDeletionProtection="true"`) {
		t.Fatalf("prod's values do not protect the tables: %s", prod)
	}

	b := []string{"Resources", "AttachmentsBucket", "Properties"}
	d.Equal(t, "Enabled", append(b, "VersioningConfiguration", "Status")...)
	found := false
	for _, r := range d.Must(t, append(b, "LifecycleConfiguration", "Rules")...).Content {
		if n := At(r, "NoncurrentVersionExpiration", "NoncurrentDays"); n != nil {
			found = n.Tag == "!Ref" && n.Value == "AttachmentVersionDays" && At(r, "Status").Value == "Enabled" && At(r, "TagFilters") == nil && At(r, "Prefix") == nil
		}
	}
	if !found {
		t.Fatal("old versions of every file do not expire after AttachmentVersionDays")
	}
}
