package aksapi

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"regexp"
	"strings"

	"github.com/localaks/localaks/internal/arm"
	"github.com/localaks/localaks/internal/store"
)

// Maintenance configurations are synchronous child resources of a cluster.

const maintenanceType = "Microsoft.ContainerService/managedClusters/maintenanceConfigurations"

var (
	timeOfDay = regexp.MustCompile(`^\d{2}:\d{2}$`)
	utcOffset = regexp.MustCompile(`^(-|\+)[0-9]{2}:[0-9]{2}$`)
	weekdays  = map[string]bool{"Sunday": true, "Monday": true, "Tuesday": true, "Wednesday": true, "Thursday": true, "Friday": true, "Saturday": true}
)

type maintenanceProps struct {
	TimeInWeek []struct {
		Day       string `json:"day"`
		HourSlots []int  `json:"hourSlots"`
	} `json:"timeInWeek,omitempty"`
	NotAllowedTime    []json.RawMessage `json:"notAllowedTime,omitempty"`
	MaintenanceWindow *struct {
		Schedule        map[string]json.RawMessage `json:"schedule"`
		DurationHours   int                        `json:"durationHours"`
		UTCOffset       string                     `json:"utcOffset"`
		StartDate       string                     `json:"startDate"`
		StartTime       string                     `json:"startTime"`
		NotAllowedDates []json.RawMessage          `json:"notAllowedDates"`
	} `json:"maintenanceWindow,omitempty"`
}

// validateMaintenance applies AKS's rules: "default" uses timeInWeek; the
// aksManaged* configurations need a maintenanceWindow with one schedule.
func validateMaintenance(name string, raw json.RawMessage) error {
	var mp maintenanceProps
	if err := json.Unmarshal(raw, &mp); err != nil {
		return arm.ErrInvalidRequestContent(err.Error())
	}
	bad := func(target, format string, args ...any) error {
		return aksNative(http.StatusBadRequest, "InvalidParameter", target, format, args...)
	}
	for _, t := range mp.TimeInWeek {
		if !weekdays[t.Day] {
			return bad("properties.timeInWeek.day", "'%s' is not a day of the week.", t.Day)
		}
		for _, h := range t.HourSlots {
			if h < 0 || h > 23 {
				return bad("properties.timeInWeek.hourSlots", "Hour slot %d must be between 0 and 23.", h)
			}
		}
	}
	managed := strings.EqualFold(name, "aksManagedAutoUpgradeSchedule") || strings.EqualFold(name, "aksManagedNodeOSUpgradeSchedule")
	if managed && mp.MaintenanceWindow == nil {
		return bad("properties.maintenanceWindow", "Maintenance configuration %s needs a maintenanceWindow.", name)
	}
	if !managed && mp.MaintenanceWindow != nil {
		return bad("properties.maintenanceWindow", "maintenanceWindow is only supported for aksManagedAutoUpgradeSchedule and aksManagedNodeOSUpgradeSchedule; use timeInWeek for %s.", name)
	}
	if w := mp.MaintenanceWindow; w != nil {
		if len(w.Schedule) != 1 {
			return bad("properties.maintenanceWindow.schedule", "Exactly one of daily, weekly, absoluteMonthly and relativeMonthly must be set.")
		}
		for k := range w.Schedule {
			if k != "daily" && k != "weekly" && k != "absoluteMonthly" && k != "relativeMonthly" {
				return bad("properties.maintenanceWindow.schedule", "Schedule type '%s' is not supported.", k)
			}
		}
		if w.DurationHours == 0 {
			w.DurationHours = 24
		}
		if w.DurationHours < 4 || w.DurationHours > 24 {
			return bad("properties.maintenanceWindow.durationHours", "durationHours %d must be between 4 and 24.", w.DurationHours)
		}
		if !timeOfDay.MatchString(w.StartTime) {
			return bad("properties.maintenanceWindow.startTime", "startTime '%s' must be HH:MM.", w.StartTime)
		}
		if w.UTCOffset != "" && !utcOffset.MatchString(w.UTCOffset) {
			return bad("properties.maintenanceWindow.utcOffset", "utcOffset '%s' must be +HH:MM or -HH:MM.", w.UTCOffset)
		}
	}
	return nil
}

func (p *Provider) getMaintenance(ctx context.Context, req *arm.Request) (*arm.Response, error) {
	return arm.ViewOK(ctx, p.store, func(tx store.Tx) (any, error) {
		if _, _, err := loadCluster(tx, clusterOf(req.Route.ID)); err != nil {
			return nil, err
		}
		r, err := tx.Get(req.Route.ID.String())
		if errors.Is(err, store.ErrNotFound) {
			return nil, arm.ErrResourceNotFound(maintenanceType, clusterOf(req.Route.ID).Name()+"/"+req.Route.ID.Name(), req.Route.ID.ResourceGroupName())
		} else if err != nil {
			return nil, err
		}
		return maintenanceBody(r), nil
	})
}

func (p *Provider) listMaintenance(ctx context.Context, req *arm.Request) (*arm.Response, error) {
	var out []map[string]any
	err := p.store.View(ctx, func(tx store.Tx) error {
		if _, _, err := loadCluster(tx, req.Route.ID); err != nil {
			return err
		}
		rs, err := tx.List(store.Query{Parent: req.Route.ID.String(), Type: maintenanceType})
		for _, r := range rs {
			out = append(out, maintenanceBody(r))
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	if out == nil {
		out = []map[string]any{}
	}
	return arm.OK(arm.List{Value: out}), nil
}

func (p *Provider) putMaintenance(ctx context.Context, req *arm.Request) (*arm.Response, error) {
	var in struct {
		Properties json.RawMessage `json:"properties"`
	}
	if err := req.DecodeBody(&in, true); err != nil {
		return nil, err
	}
	if len(in.Properties) == 0 {
		in.Properties = json.RawMessage(`{}`)
	}
	if err := validateMaintenance(req.Route.ID.Name(), in.Properties); err != nil {
		return nil, err
	}
	status := http.StatusOK
	var body map[string]any
	err := p.store.Update(ctx, func(tx store.Tx) error {
		if _, _, err := loadCluster(tx, clusterOf(req.Route.ID)); err != nil {
			return err
		}
		existing, err := tx.Get(req.Route.ID.String())
		if errors.Is(err, store.ErrNotFound) {
			status, existing = http.StatusCreated, nil
		} else if err != nil {
			return err
		}
		if err := req.CheckPreconditions(existing); err != nil {
			return err
		}
		r := &store.Resource{ID: req.Route.ID.String(), Type: maintenanceType, Name: req.Route.ID.Name(), Properties: in.Properties}
		arm.Stamp(r, req.Caller, p.now())
		if err := tx.Put(r); err != nil {
			return err
		}
		body = maintenanceBody(r)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &arm.Response{Status: status, Body: body}, nil
}

func (p *Provider) deleteMaintenance(ctx context.Context, req *arm.Request) (*arm.Response, error) {
	n := 0
	err := p.store.Update(ctx, func(tx store.Tx) error {
		if _, _, err := loadCluster(tx, clusterOf(req.Route.ID)); err != nil {
			return err
		}
		var err error
		n, err = tx.Delete(req.Route.ID.String())
		return err
	})
	if err != nil {
		return nil, err
	}
	return arm.Deleted(n > 0), nil
}
