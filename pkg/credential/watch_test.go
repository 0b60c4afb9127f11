package credential

import (
	"context"
	"errors"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
	clienttesting "k8s.io/client-go/testing"
)

// TestCreateSecretResumesAClosedWatch: a watch that closes before the
// token arrives (the API server ends watches every few minutes) is not the
// end of the wait: the Secret is read again, and what that read says
// decides.
func TestCreateSecretResumesAClosedWatch(t *testing.T) {
	cases := []struct {
		name string
		// meanwhile happens to the Secret while the first watch is open.
		meanwhile func(t *testing.T, tracker clienttesting.ObjectTracker, s *corev1.Secret)
		// getErr is what reading the Secret again returns, nil for the truth.
		getErr  error
		wantErr string // "" for the token
		deleted bool   // the created Secret is deleted again
	}{
		{name: "filled meanwhile: the token", meanwhile: func(t *testing.T, tracker clienttesting.ObjectTracker, s *corev1.Secret) {
			s.Data = map[string][]byte{corev1.ServiceAccountTokenKey: []byte(fillForCI(s))}
			if err := tracker.Update(secretsGVR, s, s.Namespace); err != nil {
				t.Error(err)
			}
		}},
		{name: "deleted meanwhile: said so", meanwhile: func(t *testing.T, tracker clienttesting.ObjectTracker, s *corev1.Secret) {
			if err := tracker.Delete(secretsGVR, s.Namespace, s.Name); err != nil {
				t.Error(err)
			}
		}, wantErr: "was deleted while waiting for its token"},
		{name: "the read fails: the error, and the Secret deleted again",
			getErr: apierrors.NewInternalError(errors.New("etcd is down")), wantErr: "etcd is down", deleted: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			client := newFake(serviceAccount("ci", "1"))
			playAPIServer(client, nil)
			watches := 0
			client.PrependWatchReactor("secrets", func(a clienttesting.Action) (bool, watch.Interface, error) {
				watches++
				if watches > 1 {
					t.Error("watched again without the read deciding")
				}
				list, err := client.Tracker().List(secretsGVR, corev1.SchemeGroupVersion.WithKind("Secret"), a.GetNamespace())
				if err != nil {
					return true, nil, err
				}
				if tc.meanwhile != nil {
					s := list.(*corev1.SecretList).Items[0]
					tc.meanwhile(t, client.Tracker(), &s)
				}
				w := watch.NewFake()
				w.Stop() // closed before any event
				return true, w, nil
			})
			if tc.getErr != nil {
				client.PrependReactor("get", "secrets", func(clienttesting.Action) (bool, runtime.Object, error) {
					return true, nil, tc.getErr
				})
			}
			c, err := (&Getter{Client: client.CoreV1()}).Get(context.Background(), createReq())
			if tc.wantErr == "" {
				if err != nil || c.Token != ciToken(c.SecretName) {
					t.Fatalf("Get = %v, %v; want the token filled meanwhile", c, err)
				}
			} else if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("Get error = %v, want one containing %q", err, tc.wantErr)
			}
			if got := len(deletions(client)) > 0; got != tc.deleted {
				t.Errorf("deletions %v, want the created Secret deleted: %v", deletions(client), tc.deleted)
			}
		})
	}
}
