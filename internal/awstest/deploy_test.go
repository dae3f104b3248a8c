package awstest

import (
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/BurntSushi/toml"
	"gopkg.in/yaml.v3"

	"github.com/scratch-notes/notes-api/internal/testenv"
)

// The tests of the way out to AWS from GitHub: .github/workflows/ci-cd.yml,
// deploy/github-oidc.yaml, deploy/stage.yaml and samconfig.toml's stages,
// read together, as GitHub, IAM and SAM CLI would.

const (
	workflowFile = ".github/workflows/ci-cd.yml"
	oidcFile     = "deploy/github-oidc.yaml"
	stageFile    = "deploy/stage.yaml"
)

// TestCfnLintGitHubDeploy: cfn-lint finds nothing in deploy/'s templates.
func TestCfnLintGitHubDeploy(t *testing.T) {
	lint := testenv.Need(t, "cfn-lint")
	cmd := exec.Command(lint, "--format", "parseable", "--include-checks", "I", "--", oidcFile, stageFile)
	cmd.Dir = testenv.Root()
	if out, err := cmd.CombinedOutput(); err != nil || len(strings.TrimSpace(string(out))) > 0 {
		t.Fatalf("cfn-lint: %v\n%s", err, out)
	}
}

// steps are a job's steps.
func steps(t *testing.T, wf Template, job string) []*yaml.Node {
	t.Helper()
	return wf.Must(t, "jobs", job, "steps").Content
}

// runs is every command a job runs, joined.
func runs(t *testing.T, wf Template, job string) string {
	var out []string
	for _, s := range steps(t, wf, job) {
		if r := At(s, "run"); r != nil {
			out = append(out, strings.Join(strings.Fields(r.Value), " "))
		}
	}
	return strings.Join(out, "\n")
}

// TestWorkflowTests: every push and pull request runs what .ci/run runs,
// with CI=true (a missing server fails), after installing what this
// project's machines come with at the versions they have.
func TestWorkflowTests(t *testing.T) {
	wf := LoadYAML(t, workflowFile)
	for _, on := range []string{"push", "pull_request"} {
		wf.Must(t, "on", on)
	}
	wf.Equal(t, "true", "jobs", "test", "env", "CI")
	ci, err := os.ReadFile(filepath.Join(testenv.Root(), ".ci", "run"))
	if err != nil {
		t.Fatal(err)
	}
	cmd := regexp.MustCompile(`(?m)^make .*$`).FindString(string(ci))
	if cmd == "" || !strings.Contains(runs(t, wf, "test"), cmd) {
		t.Fatalf("the test job does not run .ci/run's %q:\n%s", cmd, runs(t, wf, "test"))
	}
	// Go from go.mod, as `go` would pick it.
	for _, s := range steps(t, wf, "test") {
		if u := At(s, "uses"); u != nil && strings.HasPrefix(u.Value, "actions/setup-go@") {
			if v := At(s, "with", "go-version-file"); v == nil || v.Value != "go.mod" {
				t.Fatal("setup-go does not take the Go version from go.mod")
			}
		}
	}
	// The pip pins are the versions the team's machines test with.
	pins := regexp.MustCompile(`'([a-z-]+)(?:\[[a-z,]+\])?==([0-9.]+)'`).FindAllStringSubmatch(runs(t, wf, "test"), -1)
	if len(pins) != 2 {
		t.Fatalf("the test job pins %d Python tools, want cfn-lint and moto", len(pins))
	}
	for _, p := range pins {
		var out []byte
		switch p[1] {
		case "cfn-lint":
			out, err = exec.Command(testenv.Need(t, "cfn-lint"), "--version").Output()
		case "moto":
			out, err = exec.Command(pythonOf(t, testenv.Need(t, "moto_server")), "-c", "import moto; print(moto.__version__)").Output()
		default:
			t.Fatalf("unexpected pin %s", p[0])
		}
		if err != nil || !strings.Contains(" "+strings.TrimSpace(string(out)), " "+p[2]) {
			t.Fatalf("%s is pinned at %s in the workflow, and is %q here (%v)", p[1], p[2], out, err)
		}
	}
}

// pythonOf is the Python a console script such as moto_server runs with:
// its #! line's, or (a pyenv shim, a bash script) the python beside it.
func pythonOf(t *testing.T, script string) string {
	b, err := os.ReadFile(script)
	if err != nil {
		t.Fatal(err)
	}
	first, _, _ := strings.Cut(string(b), "\n")
	if f := strings.Fields(strings.TrimPrefix(first, "#!")); len(f) == 1 && strings.Contains(path.Base(f[0]), "python") {
		return f[0]
	}
	if beside := filepath.Join(filepath.Dir(script), "python"); fileExists(beside) {
		return beside
	}
	return "python3"
}

func fileExists(p string) bool { _, err := os.Stat(p); return err == nil }

// TestWorkflowPinsActions: each action is pinned to a whole commit, with
// the release it is in a comment beside it (a tag can be moved; a commit
// cannot).
func TestWorkflowPinsActions(t *testing.T) {
	wf := LoadYAML(t, workflowFile)
	pinned := regexp.MustCompile(`^[A-Za-z0-9-]+/[A-Za-z0-9._-]+@[0-9a-f]{40}$`)
	release := regexp.MustCompile(`^# v[0-9]+(\.[0-9]+)*$`)
	n := 0
	for i := 1; i < len(wf.Must(t, "jobs").Content); i += 2 {
		job := wf.Must(t, "jobs").Content[i-1].Value
		for _, s := range steps(t, wf, job) {
			u := At(s, "uses")
			if u == nil {
				continue
			}
			n++
			if !pinned.MatchString(u.Value) || !release.MatchString(u.LineComment) {
				t.Errorf("%s: uses %s %s, want owner/name@<commit> # vN", job, u.Value, u.LineComment)
			}
		}
	}
	if n == 0 {
		t.Fatal("no action found")
	}
}

// TestWorkflowDeploys: main, once tested, goes to dev and then, after the
// prod environment's approval, to prod; each deploy job can reach only its
// own stack, through the role deploy/github-oidc.yaml makes for that GitHub
// environment, with the stack, folder and stage samconfig.toml gives it.
func TestWorkflowDeploys(t *testing.T) {
	wf := LoadYAML(t, workflowFile)
	stage := LoadYAML(t, stageFile)
	var cfg map[string]any
	if _, err := toml.DecodeFile(filepath.Join(testenv.Root(), "samconfig.toml"), &cfg); err != nil {
		t.Fatal(err)
	}
	prefix := stage.Value(t, "Parameters", "StackPrefix", "Default")

	wf.Equal(t, "test", "jobs", "deploy-dev", "needs")
	if c := wf.Value(t, "jobs", "deploy-dev", "if"); !strings.Contains(c, "github.event_name == 'push'") || !strings.Contains(c, "refs/heads/main") {
		t.Fatalf("deploy-dev runs if %q, want only on a push to main", c)
	}
	wf.Equal(t, "deploy-dev", "jobs", "deploy-prod", "needs")
	// Nothing but the deploy jobs may ask for an OIDC token.
	wf.Equal(t, "read", "permissions", "contents")
	if At(wf.Root, "permissions", "id-token") != nil || At(wf.Root, "jobs", "test", "permissions") != nil {
		t.Fatal("the workflow or its test job asks for more than contents: read")
	}

	for _, env := range []string{"dev", "prod"} {
		job := "deploy-" + env
		t.Run(env, func(t *testing.T) {
			wf.Equal(t, env, "jobs", job, "environment")
			wf.Equal(t, "write", "jobs", job, "permissions", "id-token")
			var assumes string
			for _, s := range steps(t, wf, job) {
				if u := At(s, "uses"); u != nil && strings.HasPrefix(u.Value, "aws-actions/configure-aws-credentials@") {
					assumes = At(s, "with", "role-to-assume").Value
				}
			}
			if assumes != "${{ vars.AWS_DEPLOY_ROLE_ARN }}" {
				t.Fatalf("%s assumes %q, want the environment's AWS_DEPLOY_ROLE_ARN variable", job, assumes)
			}
			cmds := runs(t, wf, job)
			for _, want := range []string{"sam build --config-env " + env, "sam deploy --config-env " + env, "--no-confirm-changeset", "--no-fail-on-empty-changeset", `--role-arn "$AWS_CLOUDFORMATION_ROLE_ARN"`,
				// The stage's values and its boundary: a bare
				// --parameter-overrides would replace the stage's list.
				`--parameter-overrides "$(go run ./scripts/params ` + env + ` "PermissionsBoundary=$PERMISSIONS_BOUNDARY")"`} {
				if !strings.Contains(cmds, want) {
					t.Fatalf("%s does not run %q:\n%s", job, want, cmds)
				}
			}
			if n := strings.Count(cmds, "--parameter-overrides"); n != 1 {
				t.Fatalf("%s passes --parameter-overrides %d times", job, n)
			}
			// A stack a failed first deploy left in ROLLBACK_COMPLETE is
			// deleted, and said so, before the deploy; no other.
			clear, deploy := strings.Index(cmds, "aws cloudformation delete-stack"), strings.Index(cmds, "sam deploy")
			if clear < 0 || clear > deploy || !strings.Contains(cmds, `if [ "$status" = ROLLBACK_COMPLETE ]; then echo "::warning::`) {
				t.Fatalf("%s does not delete a stack left in ROLLBACK_COMPLETE, with a warning, before it deploys:\n%s", job, cmds)
			}
			for _, st := range steps(t, wf, job) {
				if r := At(st, "run"); r != nil && strings.Contains(r.Value, "delete-stack") && At(st, "env", "STACK").Value != prefix+"-"+env {
					t.Fatalf("%s would delete %s", job, At(st, "env", "STACK").Value)
				}
			}

			p := cfg[env].(map[string]any)["deploy"].(map[string]any)["parameters"].(map[string]any)
			stack := prefix + "-" + env
			if p["stack_name"] != stack || p["s3_prefix"] != stack {
				t.Fatalf("samconfig.toml [%s.deploy.parameters] stack %v, folder %v; the role allows %s", env, p["stack_name"], p["s3_prefix"], stack)
			}
			// SAM CLI refuses --s3-bucket beside a resolve_s3 from the
			// config file (samcli/commands/_utils/options.py) unless the
			// command turns it off.
			if p["resolve_s3"] == true && strings.Contains(cmds, "--s3-bucket") && !strings.Contains(cmds, "--no-resolve-s3") {
				t.Fatalf("%s passes --s3-bucket, and samconfig.toml resolve_s3: sam deploy would refuse", job)
			}

		})
	}

	// deploy/stage.yaml, deployed once per stage with Stage set to it:
	// its deploy role trusts only this repository's jobs in that stage's
	// environment, for STS.
	role := "DeployRole"
	cond := stage.Must(t, "Resources", role, "Properties", "AssumeRolePolicyDocument", "Statement", "0", "Condition", "StringEquals")
	if v := At(cond, "token.actions.githubusercontent.com:aud"); v == nil || v.Value != "sts.amazonaws.com" {
		t.Fatalf("%s trusts audience %v", role, v)
	}
	if v := At(cond, "token.actions.githubusercontent.com:sub"); v == nil || v.Tag != "!Sub" || v.Value != "repo:${GitHubRepository}:environment:${Stage}" {
		t.Fatalf("%s trusts subject %v", role, v)
	}
	// And it reaches its stage's stack and folder, and passes its stage's
	// CloudFormation role, no other.
	sids := map[string]bool{}
	for _, st := range stage.Must(t, "Resources", role, "Properties", "Policies", "0", "PolicyDocument", "Statement").Content {
		res := At(st, "Resource")
		sid := At(st, "Sid").Value
		sids[sid] = true
		switch sid {
		case "Stack":
			if !strings.HasSuffix(res.Value, ":stack/${StackPrefix}-${Stage}/*") {
				t.Fatalf("%s changes stacks %s", role, res.Value)
			}
			if !slices.Contains(Scalars(At(st, "Action")), "cloudformation:DeleteStack") {
				t.Fatalf("%s cannot delete its stack left in ROLLBACK_COMPLETE", role)
			}
		case "Artifacts":
			if !strings.HasSuffix(At(res, "0").Value, "/${StackPrefix}-${Stage}/*") {
				t.Fatalf("%s writes artifacts to %s", role, At(res, "0").Value)
			}
		case "PassDeployRole":
			if res.Tag != "!GetAtt" || res.Value != "CloudFormationRole.Arn" {
				t.Fatalf("%s passes %s %s, want its own stage's CloudFormationRole only", role, res.Tag, res.Value)
			}
		default:
			if slices.Contains(Scalars(At(st, "Action")), "iam:PassRole") || At(st, "Action").Value == "iam:PassRole" {
				t.Fatalf("%s passes roles in %s", role, sid)
			}
		}
	}
	for _, want := range []string{"Stack", "Artifacts", "PassDeployRole"} {
		if !sids[want] {
			t.Fatalf("%s has no %s statement", role, want)
		}
	}
}

// serviceOf names the IAM service that makes each resource type
// template.yaml uses. A type missing here fails the test: add it, and its
// service to CloudFormationRole.
var serviceOf = map[string][]string{
	"AWS::Serverless::Function":                {"lambda", "iam", "events"}, // its role, its schedule
	"AWS::Serverless::Api":                     {"apigateway"},
	"AWS::ApiGateway::Account":                 {"apigateway"},
	"AWS::ApiGateway::BasePathMapping":         {"apigateway"},
	"AWS::ApiGateway::DomainName":              {"apigateway", "acm"},
	"AWS::CloudWatch::Alarm":                   {"cloudwatch"},
	"AWS::Cognito::IdentityPool":               {"cognito-identity"},
	"AWS::Cognito::IdentityPoolRoleAttachment": {"cognito-identity"},
	"AWS::Cognito::UserPool":                   {"cognito-idp"},
	"AWS::Cognito::UserPoolClient":             {"cognito-idp"},
	"AWS::DynamoDB::Table":                     {"dynamodb"},
	"AWS::IAM::Role":                           {"iam"},
	"AWS::Logs::LogGroup":                      {"logs"},
	"AWS::Route53::RecordSet":                  {"route53"},
	"AWS::S3::Bucket":                          {"s3"},
	"AWS::SNS::Topic":                          {"sns"},
}

// TestDeployRoleCoversTemplate: the role CloudFormation deploys with may
// call each service whose resources template.yaml makes, on the names
// those resources get: a new kind of resource, or a log group named
// otherwise, fails here and not in someone's first deploy.
func TestDeployRoleCoversTemplate(t *testing.T) {
	tpl := LoadTemplate(t)
	st := LoadYAML(t, stageFile)
	prefix := st.Value(t, "Parameters", "StackPrefix", "Default")
	stack := prefix + "-dev"

	allowed := map[string][]string{} // service -> resource patterns
	creates := []string{}            // where log groups may be made
	for _, p := range policyStatements(t, st, "CloudFormationRole") {
		if p.effect != "Allow" {
			continue
		}
		for _, a := range p.actions {
			svc, _, _ := strings.Cut(a, ":")
			allowed[svc] = append(allowed[svc], p.resources...)
			if a == "logs:*" || a == "logs:CreateLogGroup" {
				creates = append(creates, p.resources...)
			}
		}
	}

	resources := tpl.Must(t, "Resources")
	for i := 0; i+1 < len(resources.Content); i += 2 {
		name, typ := resources.Content[i].Value, At(resources.Content[i+1], "Type").Value
		svcs, ok := serviceOf[typ]
		if !ok {
			t.Errorf("%s is a %s: name the service that makes it in serviceOf, and allow it to CloudFormationRole", name, typ)
			continue
		}
		for _, svc := range svcs {
			if len(allowed[svc]) == 0 {
				t.Errorf("%s (%s) needs %s, which CloudFormationRole may not call", name, typ, svc)
			}
		}
	}

	// The names template.yaml gives log groups are within the role's.
	sub := strings.NewReplacer("${AWS::StackName}", stack, "${AWS::Partition}", "aws", "${AWS::Region}", "us-east-1", "${AWS::AccountId}", "123456789012", "${StackPrefix}", prefix, "${Stage}", "dev")
	for i := 0; i+1 < len(resources.Content); i += 2 {
		lg := At(resources.Content[i+1], "Properties", "LogGroupName")
		if lg == nil {
			continue
		}
		arn := "arn:aws:logs:us-east-1:123456789012:log-group:" + sub.Replace(lg.Value)
		if !slices.ContainsFunc(creates, func(p string) bool { return globMatch(sub.Replace(p), arn) }) {
			t.Errorf("log group %s is outside where CloudFormationRole may make log groups %v", arn, creates)
		}
	}
}

// globMatch is IAM's resource match: * is any run of characters, / included.
func globMatch(pattern, s string) bool {
	re := "^" + strings.ReplaceAll(regexp.QuoteMeta(pattern), `\*`, ".*") + "$"
	return regexp.MustCompile(re).MatchString(s)
}

// statement is one statement of an IAM policy in a template.
type statement struct {
	sid, effect        string
	actions, resources []string
	condition          *yaml.Node
}

// policyStatements are the statements of a role's inline policies.
func policyStatements(t *testing.T, d Template, role string) []statement {
	t.Helper()
	var out []statement
	for _, pol := range d.Must(t, "Resources", role, "Properties", "Policies").Content {
		out = append(out, statementsOf(t, At(pol, "PolicyDocument", "Statement"))...)
	}
	return out
}

// statementsOf reads a Statement list: an Action or Resource may be one
// value or a list; a !Sub resource of two arguments is its first.
func statementsOf(t *testing.T, list *yaml.Node) []statement {
	t.Helper()
	if list == nil {
		t.Fatal("no Statement")
	}
	one := func(n *yaml.Node) []string {
		switch {
		case n == nil:
			return nil
		case n.Kind == yaml.ScalarNode:
			return []string{n.Value}
		case n.Tag == "!Sub":
			return []string{At(n, "0").Value}
		}
		var out []string
		for _, c := range n.Content {
			if c.Kind == yaml.ScalarNode {
				out = append(out, c.Value)
			} else if c.Tag == "!Sub" {
				out = append(out, At(c, "0").Value)
			}
		}
		return out
	}
	var out []statement
	for _, st := range list.Content {
		s := statement{effect: At(st, "Effect").Value, actions: one(At(st, "Action")), resources: one(At(st, "Resource")), condition: At(st, "Condition")}
		if sid := At(st, "Sid"); sid != nil {
			s.sid = sid.Value
		}
		out = append(out, s)
	}
	return out
}

// roleWrites are the IAM actions that make a role or give it more.
var roleWrites = []string{"iam:CreateRole", "iam:PutRolePolicy", "iam:AttachRolePolicy", "iam:PutRolePermissionsBoundary"}

// TestStageRolesAreBounded: a stage's CloudFormation role reaches only
// what its own stack names (StackPrefix-Stage-...), so a dev deploy cannot
// touch prod's; it makes or changes a role only with the stage's
// permissions boundary on it, and cannot take the boundary off; it may
// make API Gateway's service-linked role a custom domain needs, and no
// other.
func TestStageRolesAreBounded(t *testing.T) {
	st := LoadYAML(t, stageFile)
	if st.Value(t, "Resources", "PermissionsBoundary", "Type") != "AWS::IAM::ManagedPolicy" {
		t.Fatal("deploy/stage.yaml has no PermissionsBoundary managed policy")
	}
	for _, role := range []string{"CloudFormationRole", "DeployRole"} {
		for _, p := range policyStatements(t, st, role) {
			for _, r := range p.resources {
				if strings.Contains(r, "${StackPrefix}") && !strings.Contains(r, "${StackPrefix}-${Stage}") {
					t.Errorf("%s %s reaches %s: beyond its own stage", role, p.sid, r)
				}
			}
		}
	}
	bounded, denied, linked := false, false, false
	for _, p := range policyStatements(t, st, "CloudFormationRole") {
		for _, a := range p.actions {
			if a == "iam:*" || a == "*" {
				t.Fatalf("CloudFormationRole %s allows %s", p.sid, a)
			}
			switch {
			case p.effect == "Deny" && a == "iam:DeleteRolePermissionsBoundary":
				denied = true
			case slices.Contains(roleWrites, a):
				b := At(p.condition, "StringEquals", "iam:PermissionsBoundary")
				if b == nil || b.Tag != "!Ref" || b.Value != "PermissionsBoundary" {
					t.Fatalf("CloudFormationRole %s allows %s without the stage's boundary", p.sid, a)
				}
				bounded = true
			case a == "iam:CreateServiceLinkedRole":
				if n := At(p.condition, "StringEquals", "iam:AWSServiceName"); n == nil || n.Value != "ops.apigateway.amazonaws.com" {
					t.Fatalf("CloudFormationRole may make service-linked roles other than API Gateway's")
				}
				linked = true
			}
		}
	}
	if !bounded || !denied || !linked {
		t.Fatalf("CloudFormationRole: makes roles with the boundary %v, cannot remove it %v, API Gateway's service-linked role %v", bounded, denied, linked)
	}
}

// TestTemplateRolesAreBounded: every role template.yaml makes, the
// function's included, carries the PermissionsBoundary parameter's
// policy; and that boundary (deploy/stage.yaml's) allows every action the
// roles' own policies give, on the stage's names, or the function would
// be refused what it needs.
func TestTemplateRolesAreBounded(t *testing.T) {
	tpl := LoadTemplate(t)
	res := tpl.Must(t, "Resources")
	n := 0
	var granted []statement
	for i := 0; i+1 < len(res.Content); i += 2 {
		name, typ := res.Content[i].Value, At(res.Content[i+1], "Type").Value
		if typ != "AWS::IAM::Role" && typ != "AWS::Serverless::Function" {
			continue
		}
		n++
		b := At(res.Content[i+1], "Properties", "PermissionsBoundary")
		if b == nil || b.Tag != "!If" || At(b, "0").Value != "HasBoundary" || !strings.HasSuffix(At(b, "1").Value, ":policy/${PermissionsBoundary}") || At(b, "2").Value != "AWS::NoValue" {
			t.Errorf("%s (%s) has no PermissionsBoundary from the parameter", name, typ)
		}
		if typ == "AWS::Serverless::Function" {
			for _, pol := range At(res.Content[i+1], "Properties", "Policies").Content {
				if pol.Tag == "!If" { // a statement only when a condition holds
					pol = At(pol, "1")
				}
				granted = append(granted, statementsOf(t, At(pol, "Statement"))...)
			}
		} else if pols := At(res.Content[i+1], "Properties", "Policies"); pols != nil {
			granted = append(granted, policyStatements(t, tpl, name)...)
		}
	}
	if n < 3 {
		t.Fatalf("%d roles found, want the function's, the users' and API Gateway's", n)
	}
	boundary := statementsOf(t, LoadYAML(t, stageFile).Must(t, "Resources", "PermissionsBoundary", "Properties", "PolicyDocument", "Statement"))
	for _, g := range granted {
		for _, a := range g.actions {
			if !slices.ContainsFunc(boundary, func(b statement) bool { return b.effect == "Allow" && slices.Contains(b.actions, a) }) {
				t.Errorf("template.yaml gives %s (%s), which the boundary does not allow", a, g.sid)
			}
		}
	}
}

// TestFirstDeployOnANewAccount: what a stage's first deploy needs of the
// account is set up by deploy/github-oidc.yaml, once: API Gateway's log
// role (prod's access logs fail without it), and artifacts kept long
// enough that CloudFormation can roll back to them.
func TestFirstDeployOnANewAccount(t *testing.T) {
	oidc := LoadYAML(t, oidcFile)
	oidc.Equal(t, "AWS::ApiGateway::Account", "Resources", "ApiGatewayAccount", "Type")
	if v := oidc.Must(t, "Resources", "ApiGatewayAccount", "Properties", "CloudWatchRoleArn"); v.Tag != "!GetAtt" || v.Value != "ApiGatewayLogRole.Arn" {
		t.Fatal("the account's API Gateway role is not deploy/'s")
	}
	oidc.Equal(t, "true", "Parameters", "SetApiGatewayLogRole", "Default")
	days := oidc.Must(t, "Resources", "ArtifactsBucket", "Properties", "LifecycleConfiguration", "Rules", "0", "ExpirationInDays")
	if days.Tag != "!Ref" || days.Value != "ArtifactRetentionDays" {
		t.Fatal("the artifacts' expiry is not ArtifactRetentionDays")
	}
	for _, k := range []string{"Default", "MinValue"} {
		if v, _ := strconv.Atoi(oidc.Value(t, "Parameters", "ArtifactRetentionDays", k)); v < 90 {
			t.Fatalf("ArtifactRetentionDays %s is %d: under 90 days", k, v)
		}
	}
}
