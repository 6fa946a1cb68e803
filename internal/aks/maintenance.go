package aks

import (
	"encoding/json"
	"regexp"
	"strings"

	"github.com/localaks/localaks/internal/arm"
)

// MaintenanceType is the type of maintenance configurations, synchronous
// child resources of a cluster.
const MaintenanceType = "Microsoft.ContainerService/managedClusters/maintenanceConfigurations"

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

// ValidateMaintenance applies AKS's rules: "default" uses timeInWeek; the
// aksManaged* configurations need a maintenanceWindow with one schedule.
func ValidateMaintenance(name string, raw json.RawMessage) error {
	var mp maintenanceProps
	if err := json.Unmarshal(raw, &mp); err != nil {
		return arm.ErrInvalidRequestContent(err.Error())
	}
	bad := func(target, format string, args ...any) error {
		return badRequest("InvalidParameter", target, format, args...)
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
