package ingress

import (
	"context"
	"log/slog"
	"time"

	"k8s.io/client-go/tools/cache"
)

// Resync calls sync once the informers have synced and again after every
// change to their objects (changes that come while sync runs are coalesced
// into one more call), retrying a failed sync after a second, until ctx
// ends. Start the informers' factory before calling it.
func Resync(ctx context.Context, log *slog.Logger, what string, sync func(context.Context) error, infs ...cache.SharedIndexInformer) error {
	kick := make(chan struct{}, 1)
	poke := func() {
		select {
		case kick <- struct{}{}:
		default:
		}
	}
	h := cache.ResourceEventHandlerFuncs{
		AddFunc:    func(any) { poke() },
		UpdateFunc: func(any, any) { poke() },
		DeleteFunc: func(any) { poke() },
	}
	synced := make([]cache.InformerSynced, 0, len(infs))
	for _, i := range infs {
		if _, err := i.AddEventHandler(h); err != nil {
			return err
		}
		synced = append(synced, i.HasSynced)
	}
	if !cache.WaitForCacheSync(ctx.Done(), synced...) {
		return ctx.Err()
	}
	poke()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-kick:
		}
		if err := sync(ctx); err != nil && ctx.Err() == nil {
			log.Warn(what, "err", err)
			select {
			case <-time.After(time.Second):
				poke()
			case <-ctx.Done():
			}
		}
	}
}
