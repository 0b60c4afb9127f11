package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/sync/errgroup"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// The audit job: every service account of a cluster of auditNamespaces
// extra namespaces, each with its default account and auditExtraSAs more
// (auditNamespaces × (1 + auditExtraSAs) accounts; 2,000 at the defaults),
// sparsely bound (bench/reader in every bindEvery-th namespace, from the
// namespaces job's setup).
const (
	auditNamespaces = 500
	auditExtraSAs   = 3

	nameAudit            = "kubectl-access audit"
	nameWhoamiLoop       = "kubectl-access whoami per account"
	nameCanIAsLoop       = "kubectl can-i --list --as per account"
	nameFloorAudit       = "floor: audit"
	auditAccountsPattern = `"accounts": `
)

// whoamiLoopScript reviews each account (ACCOUNTS: "namespace name" lines)
// with whoami in its own namespace: the part of the audit's answer a script
// could get with one whoami per account.
const whoamiLoopScript = `while read -r ns sa; do
  kubectl-access whoami "$sa" -n "$ns" -o json >/dev/null || exit 1
done < "$ACCOUNTS"`

// canIAsLoopScript asks kubectl, impersonating each account, for its rules
// in its own namespace.
const canIAsLoopScript = `while read -r ns sa; do
  kubectl auth can-i --list -n "$ns" --as "system:serviceaccount:$ns:$sa" >/dev/null || exit 1
done < "$ACCOUNTS"`

// auditJob measures `audit` over every account against the two loops a
// user would otherwise write.
func (b *benchmarks) auditJob(ctx context.Context) error {
	why := b.unavailable("audit")
	var accounts []string
	if why == "" {
		fmt.Fprintf(os.Stderr, "bench: creating %d namespaces and %d service accounts in each\n", auditNamespaces, auditExtraSAs)
		start := time.Now()
		if err := b.c.ensureNamespaces(ctx, auditNamespaces); err != nil {
			return err
		}
		if err := b.c.ensureServiceAccounts(ctx, auditNamespaces, auditExtraSAs); err != nil {
			return err
		}
		list, err := b.c.client.CoreV1().ServiceAccounts("").List(ctx, metav1.ListOptions{})
		if err != nil {
			return err
		}
		for _, sa := range list.Items {
			accounts = append(accounts, sa.Namespace+" "+sa.Name)
		}
		fmt.Fprintf(os.Stderr, "bench: %d service accounts ready in %.1fs\n", len(accounts), time.Since(start).Seconds())
	}
	file := filepath.Join(b.work, "accounts.txt")
	if err := os.WriteFile(file, []byte(strings.Join(accounts, "\n")+"\n"), 0o600); err != nil {
		return err
	}
	all := against(b.plugin(nameAudit, 0, contains1(fmt.Sprintf("%s%d,", auditAccountsPattern, len(accounts))), "audit", "-o", "json"), nameFloorAudit)
	all.Timeout = 15 * time.Minute
	// The same requests with nothing else: how fast, and in how little
	// memory, a Go program with these libraries can do it.
	floor := b.floorJob(nameFloorAudit, contains1(fmt.Sprintf("%d accounts ", len(accounts))), "audit")
	floor.Timeout = 15 * time.Minute
	loop := shell(nameWhoamiLoop, whoamiLoopScript, nil, "ACCOUNTS="+file, "KUBECONFIG="+b.c.benchKubeconfig)
	loop.Slow, loop.Timeout = true, time.Duration(len(accounts))*time.Second+time.Minute
	asLoop := shell(nameCanIAsLoop, canIAsLoopScript, nil, "ACCOUNTS="+file, "KUBECONFIG="+b.c.benchKubeconfig)
	asLoop.Slow, asLoop.Timeout = true, time.Duration(len(accounts))*time.Second+time.Minute
	b.measure(ctx, &comparison{
		ID:          "audit",
		Title:       fmt.Sprintf("audit of %d service accounts over %d namespaces vs its floor program, a whoami loop and a kubectl auth can-i --list --as loop (each in the account's own namespace only)", len(accounts), auditNamespaces),
		Pairs:       1,
		Namespaces:  auditNamespaces,
		Unavailable: why,
		Variants:    []variant{all, floor, loop, asLoop},
	})
	return nil
}

// ensureServiceAccounts gives each of the first n extra namespaces perNS
// service accounts (sa-0 ...) besides its default, concurrently; existing
// ones are kept.
func (c *cluster) ensureServiceAccounts(ctx context.Context, n, perNS int) error {
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(setupWorkers)
	for i := range n {
		ns := fmt.Sprintf("%s%04d", nsPrefix, i)
		for j := range perNS {
			g.Go(func() error {
				sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("sa-%d", j)}}
				if _, err := c.client.CoreV1().ServiceAccounts(ns).Create(gctx, sa, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
					return fmt.Errorf("creating service account %s/%s: %w", ns, sa.Name, err)
				}
				return nil
			})
		}
	}
	return g.Wait()
}
