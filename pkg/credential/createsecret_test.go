package credential

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	k8stypes "k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes/fake"
	clienttesting "k8s.io/client-go/testing"
)

// playAPIServer makes the fake's Secrets behave as a real cluster's where
// --create-secret depends on it: a created Secret gets a uid (and a name
// from generateName), a delete honours its uid precondition, and, when fill
// is not nil, the token controller fills every unfilled token Secret with
// fill(secret) as soon as a watch starts (so no event can be missed).
func playAPIServer(client *fake.Clientset, fill func(*corev1.Secret) string) {
	n := 0
	client.PrependReactor("create", "secrets", func(a clienttesting.Action) (bool, runtime.Object, error) {
		s := a.(clienttesting.CreateAction).GetObject().(*corev1.Secret).DeepCopy()
		n++
		s.UID = k8stypes.UID(fmt.Sprintf("secret-uid-%d", n))
		if s.Name == "" && s.GenerateName != "" {
			s.Name = fmt.Sprintf("%sgen%d", s.GenerateName, n)
		}
		if err := client.Tracker().Create(secretsGVR, s, a.GetNamespace()); err != nil {
			return true, nil, err
		}
		return true, s, nil
	})
	client.PrependReactor("delete", "secrets", func(a clienttesting.Action) (bool, runtime.Object, error) {
		d := a.(clienttesting.DeleteAction)
		p := d.GetDeleteOptions().Preconditions
		if p == nil || p.UID == nil {
			return false, nil, nil
		}
		obj, err := client.Tracker().Get(secretsGVR, a.GetNamespace(), d.GetName())
		if err != nil {
			return true, nil, err
		}
		if uid := obj.(*corev1.Secret).UID; uid != *p.UID {
			return true, nil, apierrors.NewConflict(secretsGVR.GroupResource(), d.GetName(),
				fmt.Errorf("Precondition failed: UID in precondition: %v, UID in object meta: %v", *p.UID, uid))
		}
		return false, nil, nil
	})
	if fill == nil {
		return
	}
	client.PrependWatchReactor("secrets", func(a clienttesting.Action) (bool, watch.Interface, error) {
		w, err := client.Tracker().Watch(secretsGVR, a.GetNamespace())
		if err != nil {
			return true, nil, err
		}
		list, err := client.Tracker().List(secretsGVR, corev1.SchemeGroupVersion.WithKind("Secret"), a.GetNamespace())
		if err != nil {
			return true, nil, err
		}
		for _, s := range list.(*corev1.SecretList).Items {
			if s.Type != corev1.SecretTypeServiceAccountToken || len(s.Data[corev1.ServiceAccountTokenKey]) > 0 {
				continue
			}
			s.Data = map[string][]byte{corev1.ServiceAccountTokenKey: []byte(fill(&s))}
			if err := client.Tracker().Update(secretsGVR, &s, s.Namespace); err != nil {
				return true, nil, err
			}
		}
		return true, w, nil
	})
}

// fillForCI plays a token controller that writes ci's real token.
func fillForCI(s *corev1.Secret) string { return ciToken(s.Name) }

// deletion is a DELETE of a Secret and the uid it was conditioned on.
type deletion struct {
	Name string
	UID  k8stypes.UID
}

func deletions(client *fake.Clientset) []deletion {
	var out []deletion
	for _, a := range client.Actions() {
		if !a.Matches("delete", "secrets") {
			continue
		}
		d := a.(clienttesting.DeleteAction)
		got := deletion{Name: d.GetName()}
		if p := d.GetDeleteOptions().Preconditions; p != nil && p.UID != nil {
			got.UID = *p.UID
		}
		out = append(out, got)
	}
	return out
}

func createdMessage(name string) string {
	return "created Secret build/" + name + " holding a long-lived token for service account ci: it stays valid until the Secret is deleted"
}

func deletedMessage(name string) string {
	return "deleted Secret build/" + name + " again: this run created it and failed"
}

// createReq asks for ci's legacy token, creating its Secret if need be.
func createReq() Request {
	return Request{Namespace: ns, ServiceAccount: "ci", Source: SourceSecret, CreateSecret: true, WaitTimeout: 5 * time.Second}
}

func TestCreateSecretWaitsForController(t *testing.T) {
	client := newFake(serviceAccount("ci", "1"))
	playAPIServer(client, fillForCI)
	var warned warnings
	c, err := (&Getter{Client: client.CoreV1(), Warnf: warned.warnf}).Get(context.Background(), createReq())
	if err != nil {
		t.Fatal(err)
	}
	got := []any{c.Source, c.SecretName, c.Token, c.Created()}
	if diff := cmp.Diff([]any{SourceSecret, "ci-token", ciToken("ci-token"), true}, got); diff != "" {
		t.Errorf("source, secret, token, created (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{createdMessage("ci-token")}, []string(warned)); diff != "" {
		t.Errorf("warnings (-want +got):\n%s", diff)
	}
	s, err := client.CoreV1().Secrets(ns).Get(context.Background(), "ci-token", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if s.Annotations[annotationRun] == "" || s.Annotations[corev1.ServiceAccountNameKey] != "ci" {
		t.Errorf("annotations = %v, want the service account's name and this run's marker", s.Annotations)
	}
}

func TestCreateSecretMarksEachRunApart(t *testing.T) {
	var markers []string
	for range 2 {
		client := newFake(serviceAccount("ci", "1"))
		playAPIServer(client, fillForCI)
		if _, err := (&Getter{Client: client.CoreV1()}).Get(context.Background(), createReq()); err != nil {
			t.Fatal(err)
		}
		s, err := client.CoreV1().Secrets(ns).Get(context.Background(), "ci-token", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		markers = append(markers, s.Annotations[annotationRun])
	}
	if markers[0] == "" || markers[0] == markers[1] {
		t.Errorf("run markers = %q, want two different ones: a clean-up must find its own run's Secret only", markers)
	}
}

func TestCreateSecretNeverFilledCleansUp(t *testing.T) {
	client := newFake(serviceAccount("ci", "1"))
	playAPIServer(client, nil) // no token controller
	var warned warnings
	g := &Getter{Client: client.CoreV1(), Warnf: warned.warnf}
	req := createReq()
	req.WaitTimeout = 300 * time.Millisecond
	start := time.Now()
	_, err := g.Get(context.Background(), req)
	var notFilled *NotFilledError
	if !errors.As(err, &notFilled) {
		t.Fatalf("error = %v, want a *NotFilledError", err)
	}
	if diff := cmp.Diff(&NotFilledError{Namespace: ns, Name: "ci-token", Timeout: 300 * time.Millisecond}, notFilled); diff != "" {
		t.Errorf("NotFilledError (-want +got):\n%s", diff)
	}
	if elapsed := time.Since(start); elapsed > 5*time.Second {
		t.Errorf("the wait took %s, want it bounded by WaitTimeout", elapsed)
	}
	if diff := cmp.Diff([]deletion{{Name: "ci-token", UID: "secret-uid-1"}}, deletions(client)); diff != "" {
		t.Errorf("deletions (-want +got):\n%s", diff)
	}
	if got := secretNames(t, client); len(got) != 0 {
		t.Errorf("the unfilled Secret was left behind: %v", got)
	}
	if diff := cmp.Diff([]string{createdMessage("ci-token"), deletedMessage("ci-token")}, []string(warned)); diff != "" {
		t.Errorf("warnings (-want +got):\n%s", diff)
	}
}

// TestCreateSecretAnswerLostDeletesWhatItCreated: when the answer to the
// create never arrives, the Secret may exist all the same; it is found by
// this run's marker and deleted, and nothing of another run is touched.
func TestCreateSecretAnswerLostDeletesWhatItCreated(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	cases := []struct {
		name string
		// fail is what the create answers once the Secret is stored (or not).
		fail          func(cancel context.CancelFunc) error
		store         bool
		wantErr       func(error) bool
		wantDeletions []deletion
		wantLeft      []string
	}{
		{
			name:  "cancelled while the create is in flight",
			store: true,
			fail: func(cancel context.CancelFunc) error {
				cancel() // Ctrl-C before the answer came back
				return context.Canceled
			},
			wantErr:       func(err error) bool { return errors.Is(err, context.Canceled) },
			wantDeletions: []deletion{{Name: "ci-token", UID: "lost-uid"}},
			wantLeft:      []string{"ci-token-earlier"},
		},
		{
			name:  "the connection broke before the answer",
			store: true,
			fail: func(context.CancelFunc) error {
				return &url.Error{Op: "Post", URL: "https://api.example:6443/api/v1/namespaces/build/secrets", Err: io.ErrUnexpectedEOF}
			},
			wantErr: func(err error) bool {
				return errors.Is(err, io.ErrUnexpectedEOF) && strings.HasPrefix(err.Error(), "creating a token Secret for service account build/ci: ")
			},
			wantDeletions: []deletion{{Name: "ci-token", UID: "lost-uid"}},
			wantLeft:      []string{"ci-token-earlier"},
		},
		{
			name: "an answer from the server, a refusal, means nothing was created",
			fail: func(context.CancelFunc) error {
				return apierrors.NewForbidden(secretsGVR.GroupResource(), "ci-token", errors.New("RBAC"))
			},
			wantErr:  apierrors.IsForbidden,
			wantLeft: []string{"ci-token-earlier"},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			// An unfilled Secret an earlier run left: not this run's to delete.
			earlier := tokenSecret("ci-token-earlier", "ci", "", t0, ofRun("an-earlier-run"), withObjectUID("earlier-uid"))
			client := newFake(serviceAccount("ci", "1"), earlier)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			client.PrependReactor("create", "secrets", func(a clienttesting.Action) (bool, runtime.Object, error) {
				if tc.store {
					s := a.(clienttesting.CreateAction).GetObject().(*corev1.Secret).DeepCopy()
					s.UID = "lost-uid"
					if err := client.Tracker().Create(secretsGVR, s, ns); err != nil {
						return true, nil, err
					}
				}
				return true, nil, tc.fail(cancel)
			})
			var warned warnings
			_, err := (&Getter{Client: client.CoreV1(), Warnf: warned.warnf}).Get(ctx, createReq())
			if !tc.wantErr(err) {
				t.Fatalf("error = %v (%T)", err, err)
			}
			if diff := cmp.Diff(tc.wantDeletions, deletions(client)); diff != "" {
				t.Errorf("deletions (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.wantLeft, secretNames(t, client)); diff != "" {
				t.Errorf("Secrets left (-want +got):\n%s", diff)
			}
			var want []string
			for _, d := range tc.wantDeletions {
				want = append(want, deletedMessage(d.Name))
			}
			if diff := cmp.Diff(want, []string(warned)); diff != "" {
				t.Errorf("warnings (-want +got):\n%s", diff)
			}
		})
	}
}

// TestCreateSecretNeverTakesAPlantedSecret: the name ci-token is the first
// one --create-secret tries; a Secret planted under it must not hand over
// its token when the create finds the name taken.
func TestCreateSecretNeverTakesAPlantedSecret(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	attacker := legacyToken(ns, "attacker", "uid-9", "ci-token")
	plantedWarning := "skipped Secret build/ci-token: it is annotated for service account ci, but its token belongs to another subject"
	cases := []struct {
		name    string
		planted *corev1.Secret
		// fill plays the token controller and whoever else writes Secrets.
		fill func(*corev1.Secret) string
	}{
		{
			name:    "planted already filled with another account's token",
			planted: tokenSecret("ci-token", "ci", attacker, t0, withObjectUID("planted-uid")),
			fill:    fillForCI,
		},
		{
			name:    "planted empty and filled with another account's token while waited for",
			planted: tokenSecret("ci-token", "ci", "", t0, withObjectUID("planted-uid")),
			fill: func(s *corev1.Secret) string {
				if s.Name == "ci-token" {
					return attacker
				}
				return ciToken(s.Name)
			},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			client := newFake(serviceAccount("ci", "1"), tc.planted)
			playAPIServer(client, tc.fill)
			var warned warnings
			c, err := (&Getter{Client: client.CoreV1(), Warnf: warned.warnf}).Get(context.Background(), createReq())
			if err != nil {
				t.Fatal(err)
			}
			if c.Token == attacker {
				t.Fatal("the planted Secret's token passed for ci's")
			}
			got := []any{c.SecretName, c.Token, c.Created()}
			if diff := cmp.Diff([]any{"ci-token-gen2", ciToken("ci-token-gen2"), true}, got); diff != "" {
				t.Errorf("secret, token, created (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff([]string{plantedWarning, createdMessage("ci-token-gen2")}, []string(warned)); diff != "" {
				t.Errorf("warnings (-want +got):\n%s", diff)
			}
			if len(deletions(client)) != 0 {
				t.Errorf("deletions = %v: the planted Secret is not this run's to delete", deletions(client))
			}
		})
	}
}

func TestCreateSecretTakenNameUsesGeneratedName(t *testing.T) {
	taken := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "ci-token", Namespace: ns}, Type: corev1.SecretTypeOpaque, Data: map[string][]byte{"k": []byte("v")}}
	client := newFake(serviceAccount("ci", "1"), taken)
	playAPIServer(client, fillForCI)
	var created []*corev1.Secret
	client.PrependReactor("create", "secrets", func(a clienttesting.Action) (bool, runtime.Object, error) {
		created = append(created, a.(clienttesting.CreateAction).GetObject().(*corev1.Secret).DeepCopy())
		return false, nil, nil
	})
	c, err := (&Getter{Client: client.CoreV1()}).Get(context.Background(), createReq())
	if err != nil {
		t.Fatal(err)
	}
	if len(created) != 2 || created[1].GenerateName != "ci-token-" {
		t.Fatalf("creates = %d, second GenerateName = %q; want a retry with generateName ci-token-", len(created), created[len(created)-1].GenerateName)
	}
	if c.SecretName != "ci-token-gen2" || !c.Created() {
		t.Errorf("secret %q, created %v; want the generated one, created by this run", c.SecretName, c.Created())
	}
	got, _ := client.CoreV1().Secrets(ns).Get(context.Background(), "ci-token", metav1.GetOptions{})
	if string(got.Data["k"]) != "v" || got.Type != corev1.SecretTypeOpaque {
		t.Error("the existing Secret ci-token was changed")
	}
}

func TestCreateSecretDeletedWhileWaiting(t *testing.T) {
	client := newFake(serviceAccount("ci", "1"))
	gvr := schema.GroupVersionResource{Version: "v1", Resource: "secrets"}
	// Someone deletes the Secret before the token controller fills it.
	client.PrependReactor("create", "secrets", func(a clienttesting.Action) (bool, runtime.Object, error) {
		s := a.(clienttesting.CreateAction).GetObject().(*corev1.Secret).DeepCopy()
		s.UID = "secret-uid"
		if err := client.Tracker().Create(gvr, s, ns); err != nil {
			return true, nil, err
		}
		go func() {
			time.Sleep(200 * time.Millisecond)
			_ = client.Tracker().Delete(gvr, ns, s.Name)
		}()
		return true, s, nil
	})
	start := time.Now()
	_, err := (&Getter{Client: client.CoreV1()}).Get(context.Background(), Request{Namespace: ns, ServiceAccount: "ci", Source: SourceSecret, CreateSecret: true, WaitTimeout: 10 * time.Second})
	if err == nil || !strings.Contains(err.Error(), "Secret build/ci-token was deleted while waiting for its token") {
		t.Fatalf("error = %v, want one saying the Secret was deleted", err)
	}
	if elapsed := time.Since(start); elapsed > 5*time.Second {
		t.Errorf("took %s: the deletion should end the wait at once", elapsed)
	}
}

func TestCreateSecretInterruptedCleansUp(t *testing.T) {
	client := newFake(serviceAccount("ci", "1"))
	ctx, cancel := context.WithCancel(context.Background())
	client.PrependReactor("create", "secrets", func(clienttesting.Action) (bool, runtime.Object, error) {
		time.AfterFunc(100*time.Millisecond, cancel) // Ctrl-C while waiting
		return false, nil, nil
	})
	_, err := (&Getter{Client: client.CoreV1()}).Get(ctx, Request{Namespace: ns, ServiceAccount: "ci", Source: SourceSecret, CreateSecret: true, WaitTimeout: time.Minute})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("error = %v, want context.Canceled", err)
	}
	list, _ := client.CoreV1().Secrets(ns).List(context.Background(), metav1.ListOptions{})
	if len(list.Items) != 0 {
		t.Errorf("an interrupted run left its Secret behind: %v", list.Items[0].Name)
	}
}

// TestDiscard: a command whose later step fails discards the credential, and
// only a Secret Get created for it is deleted, once, and only while it is
// still the same object.
func TestDiscard(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	cases := []struct {
		name          string
		objs          []runtime.Object
		req           Request
		wantCreated   bool
		discards      int
		replace       bool // someone replaces the Secret (same name, new uid) before Discard
		wantDeletions []deletion
		wantLeft      []string
		wantWarning   string // the last warning, when there is one to check
	}{
		{
			name:          "the Secret Get created is deleted, conditioned on its uid",
			objs:          []runtime.Object{serviceAccount("ci", "1")},
			req:           createReq(),
			wantCreated:   true,
			discards:      1,
			wantDeletions: []deletion{{Name: "ci-token", UID: "secret-uid-1"}},
			wantWarning:   deletedMessage("ci-token"),
		},
		{
			name:          "a second Discard sends nothing",
			objs:          []runtime.Object{serviceAccount("ci", "1")},
			req:           createReq(),
			wantCreated:   true,
			discards:      2,
			wantDeletions: []deletion{{Name: "ci-token", UID: "secret-uid-1"}},
			wantWarning:   deletedMessage("ci-token"),
		},
		{
			name:          "a Secret replaced since under the same name survives",
			objs:          []runtime.Object{serviceAccount("ci", "1")},
			req:           createReq(),
			wantCreated:   true,
			discards:      1,
			replace:       true,
			wantDeletions: []deletion{{Name: "ci-token", UID: "secret-uid-1"}},
			wantLeft:      []string{"ci-token"},
			wantWarning:   `could not delete the Secret build/ci-token this run created: Operation cannot be fulfilled on secrets "ci-token": Precondition failed: UID in precondition: secret-uid-1, UID in object meta: someone-elses`,
		},
		{
			name:     "a Secret found, not created, is never deleted",
			objs:     []runtime.Object{serviceAccount("ci", "1"), tokenSecret("ci-token-abc", "ci", ciToken("ci-token-abc"), t0, withObjectUID("found"))},
			req:      createReq(),
			discards: 1,
			wantLeft: []string{"ci-token-abc"},
		},
		{
			name:     "the Secret of an earlier run it waited for is not this run's to delete",
			objs:     []runtime.Object{serviceAccount("ci", "1"), tokenSecret("ci-token", "ci", "", t0, ofRun("an-earlier-run"), withObjectUID("earlier"))},
			req:      createReq(),
			discards: 1,
			wantLeft: []string{"ci-token"},
		},
		{
			name:     "a TokenRequest credential has nothing to delete",
			objs:     []runtime.Object{serviceAccount("ci", "1")},
			req:      Request{Namespace: ns, ServiceAccount: "ci", Source: SourceRequest},
			discards: 1,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			client := newFake(tc.objs...)
			playAPIServer(client, fillForCI)
			var warned warnings
			g := &Getter{Client: client.CoreV1(), Warnf: warned.warnf}
			c, err := g.Get(context.Background(), tc.req)
			if err != nil {
				t.Fatal(err)
			}
			if c.Created() != tc.wantCreated {
				t.Fatalf("Created() = %v, want %v", c.Created(), tc.wantCreated)
			}
			if tc.replace {
				s, err := client.Tracker().Get(secretsGVR, ns, c.SecretName)
				if err != nil {
					t.Fatal(err)
				}
				replacement := s.(*corev1.Secret).DeepCopy()
				replacement.UID = "someone-elses"
				if err := client.Tracker().Update(secretsGVR, replacement, ns); err != nil {
					t.Fatal(err)
				}
			}
			warned = nil
			for range tc.discards {
				g.Discard(c)
			}
			if c.Created() {
				t.Error("Created() = true after Discard")
			}
			if diff := cmp.Diff(tc.wantDeletions, deletions(client)); diff != "" {
				t.Errorf("deletions (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.wantLeft, secretNames(t, client)); diff != "" {
				t.Errorf("Secrets left (-want +got):\n%s", diff)
			}
			var want []string
			if tc.wantWarning != "" {
				want = []string{tc.wantWarning}
			}
			if diff := cmp.Diff(want, []string(warned)); diff != "" {
				t.Errorf("warnings of Discard (-want +got):\n%s", diff)
			}
		})
	}
}

func TestDiscardNilDoesNothing(t *testing.T) {
	client := newFake()
	(&Getter{Client: client.CoreV1()}).Discard(nil)
	if got := client.Actions(); len(got) != 0 {
		t.Errorf("Discard(nil) sent %v", got)
	}
}
