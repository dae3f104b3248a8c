// Command table reads the output of make bench's benchmarks and prints
// one table: each figure, its baseline from the same run, the ratio or
// difference, the target, and whether it is met.
package main

import (
	"bufio"
	"fmt"
	"os"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// metrics are the benchmarks' figures: name (without -GOMAXPROCS) ->
// unit -> value.
type metrics map[string]map[string]float64

var line = regexp.MustCompile(`^(Benchmark\S+?)(-\d+)?\s+\d+\s+(.*)$`)

func read() metrics {
	m := metrics{}
	sc := bufio.NewScanner(os.Stdin)
	for sc.Scan() {
		g := line.FindStringSubmatch(sc.Text())
		if g == nil {
			continue
		}
		f := strings.Fields(g[3])
		m[g[1]] = map[string]float64{}
		for i := 0; i+1 < len(f); i += 2 {
			if v, err := strconv.ParseFloat(f[i], 64); err == nil {
				m[g[1]][f[i+1]] = v
			}
		}
	}
	return m
}

func main() {
	m := read()
	get := func(name, unit string) (float64, bool) {
		v, ok := m[name][unit]
		return v, ok
	}
	type row struct{ figure, value, baseline, compare, target, met string }
	var rows []row
	yes := func(ok bool) string {
		if ok {
			return "met"
		}
		return "**not met**"
	}
	ms := func(v float64) string { return fmt.Sprintf("%.1f ms", v) }
	us := func(ns float64) string { return fmt.Sprintf("%.1f µs", ns/1000) }
	mib := func(v float64) string { return fmt.Sprintf("%.1f MiB", v) }

	cold := func(figure, program string) float64 {
		v, _ := get("BenchmarkColdStart", figure+"-"+program)
		return v
	}
	if api, ok := get("BenchmarkColdStart", "ms-first-answer-api-dynamo"); ok {
		floor, hello := cold("ms-first-answer", "floor"), cold("ms-first-answer", "hello")
		rows = append(rows, row{"cold start, spawn to first answer (median), DynamoDB shape", ms(api), "SDK floor " + ms(floor),
			fmt.Sprintf("%+.1f ms", api-floor), "floor + 2 ms", yes(api-floor <= 2)})
		rows = append(rows, row{"cold start of the SDK floor", ms(floor), "hello-world " + ms(hello), fmt.Sprintf("%+.1f ms", floor-hello), "", ""})
		bolt := cold("ms-first-answer", "api-bolt")
		rows = append(rows, row{"cold start, embedded store", ms(bolt), "hello-world " + ms(hello), fmt.Sprintf("%+.1f ms", bolt-hello), "", ""})
		ai, fi := cold("ms-init", "api-dynamo"), cold("ms-init", "floor")
		rows = append(rows, row{"init, spawn to first /next (median), DynamoDB shape", ms(ai), "SDK floor " + ms(fi), fmt.Sprintf("%+.1f ms", ai-fi), "", ""})
		ar, fr := cold("MiB-peak-rss", "api-dynamo"), cold("MiB-peak-rss", "floor")
		rows = append(rows, row{"peak RSS of a cold start", mib(ar), "SDK floor " + mib(fr), fmt.Sprintf("%+.1f MiB", ar-fr), "floor + 2 MiB", yes(ar-fr <= 2)})
	}
	if end, ok := get("BenchmarkWarmMemory", "MiB-rss-at-the-end"); ok {
		fifth, _ := get("BenchmarkWarmMemory", "MiB-rss-at-a-fifth")
		rows = append(rows, row{"RSS of a warm instance after 50,000 reads", mib(end), "after 10,000 " + mib(fifth), fmt.Sprintf("%+.1f MiB", end-fifth), "", ""})
	}
	if end, ok := get("BenchmarkLiveHeap", "MiB-live-heap-at-the-end"); ok {
		fifth, _ := get("BenchmarkLiveHeap", "MiB-live-heap-at-a-fifth")
		rows = append(rows, row{"live heap after 50,000 requests", mib(end), "after 10,000 " + mib(fifth), fmt.Sprintf("%+.2f MiB", end-fifth), "flat (within 0.5 MiB)", yes(end-fifth <= 0.5)})
	}
	if size, ok := get("BenchmarkReleaseSize", "MiB-bootstrap"); ok {
		rows = append(rows, row{"release bootstrap (linux/arm64)", fmt.Sprintf("%.2f MiB", size), "", "", "12 MiB", yes(size <= 12)})
	}
	if g, ok := get("BenchmarkRequest/get", "ns/op"); ok {
		floor, _ := get("BenchmarkRequest/floor", "ns/op")
		rows = append(rows, row{"GET /notes/{id} through the Lambda front door (3 KB REST event)", us(g), "decode + encode floor " + us(floor),
			fmt.Sprintf("%.2fx", g/floor), "2x the floor", yes(g/floor <= 2)})
		if p, ok := get("BenchmarkRequest/preflight", "ns/op"); ok {
			rows = append(rows, row{"preflight through the Lambda front door", us(p), "floor " + us(floor), fmt.Sprintf("%.2fx", p/floor), "10 µs", yes(p <= 10000)})
		}
		if b, ok := get("BenchmarkRequest/get-bolt", "ns/op"); ok {
			rows = append(rows, row{"GET /notes/{id} on bbolt through the Lambda front door", us(b), "floor " + us(floor), fmt.Sprintf("%.2fx", b/floor), "30 µs", yes(b <= 30000)})
		}
	}
	if p, ok := get("BenchmarkHandler/preflight", "ns/op"); ok {
		rows = append(rows, row{"preflight, the handler alone", us(p), "", "", "10 µs", yes(p <= 10000)})
	}
	if b, ok := get("BenchmarkHandler/get-bolt", "ns/op"); ok {
		rows = append(rows, row{"GET /notes/{id} on bbolt, the handler alone", us(b), "", "", "30 µs", yes(b <= 30000)})
	}
	if api, ok := get("BenchmarkThroughput/api", "req/s"); ok {
		bare, _ := get("BenchmarkThroughput/bare", "req/s")
		ap, _ := get("BenchmarkThroughput/api", "ms-p99")
		bp, _ := get("BenchmarkThroughput/bare", "ms-p99")
		rows = append(rows, row{"local server throughput, GET /notes/{id}, 32 clients", fmt.Sprintf("%.0f req/s (p99 %.1f ms)", api, ap),
			fmt.Sprintf("bare net/http %.0f req/s (p99 %.1f ms)", bare, bp), fmt.Sprintf("%.0f%%", 100*api/bare), "70%", yes(api/bare >= 0.7)})
	}
	if info, ok := get("BenchmarkLogBytes/INFO", "log-bytes/request"); ok {
		warn, _ := get("BenchmarkLogBytes/WARN", "log-bytes/request")
		rows = append(rows, row{"log written per warm request, LogLevel INFO (docs/costs.md)", fmt.Sprintf("%.0f bytes", info),
			fmt.Sprintf("LogLevel WARN %.0f bytes", warn), "", "", ""})
	}
	fmt.Printf("make bench, %s\n\n", time.Now().UTC().Format("2006-01-02"))
	fmt.Println("| figure | value | baseline (same run) | compared | target | |")
	fmt.Println("|---|---|---|---|---|---|")
	for _, r := range rows {
		fmt.Printf("| %s | %s | %s | %s | %s | %s |\n", r.figure, r.value, r.baseline, r.compare, r.target, r.met)
	}
	if len(rows) == 0 {
		fmt.Fprintln(os.Stderr, "table: no benchmark figures on stdin")
		os.Exit(1)
	}
}
