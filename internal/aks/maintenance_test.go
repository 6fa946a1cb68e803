package aks

import (
	"encoding/json"
	"testing"
)

func TestValidateMaintenance(t *testing.T) {
	bad := func(target, message string) *apiError { return ptr(aksError(400, "InvalidParameter", target, message)) }
	window := func(members string) string {
		return `{"maintenanceWindow":{` + members + `}}`
	}
	const weekly = `"schedule":{"weekly":{"intervalWeeks":1,"dayOfWeek":"Sunday"}}`
	tests := []struct {
		name, config, props string
		want                *apiError
	}{
		{"default, empty", "default", `{}`, nil},
		{"default, time in week", "default", `{"timeInWeek":[{"day":"Monday","hourSlots":[0,1,23]},{"day":"Saturday"}],"notAllowedTime":[{"start":"2026-12-24T00:00:00Z","end":"2026-12-26T00:00:00Z"}]}`, nil},
		{"default, bad day", "default", `{"timeInWeek":[{"day":"Funday","hourSlots":[1]}]}`,
			bad("properties.timeInWeek.day", "'Funday' is not a day of the week.")},
		{"default, hour 24", "default", `{"timeInWeek":[{"day":"Monday","hourSlots":[3,24]}]}`,
			bad("properties.timeInWeek.hourSlots", "Hour slot 24 must be between 0 and 23.")},
		{"default, negative hour", "default", `{"timeInWeek":[{"day":"Monday","hourSlots":[-1]}]}`,
			bad("properties.timeInWeek.hourSlots", "Hour slot -1 must be between 0 and 23.")},
		{"default with a window", "default", window(weekly + `,"startTime":"00:00"`),
			bad("properties.maintenanceWindow", "maintenanceWindow is only supported for aksManagedAutoUpgradeSchedule and aksManagedNodeOSUpgradeSchedule; use timeInWeek for default.")},
		{"other name with a window", "weekend", window(weekly + `,"startTime":"00:00"`),
			bad("properties.maintenanceWindow", "maintenanceWindow is only supported for aksManagedAutoUpgradeSchedule and aksManagedNodeOSUpgradeSchedule; use timeInWeek for weekend.")},

		{"auto upgrade, weekly", "aksManagedAutoUpgradeSchedule", window(weekly + `,"durationHours":4,"startTime":"22:30","utcOffset":"+05:30"`), nil},
		{"node OS, daily, name in another case", "AKSManagedNodeOSUpgradeSchedule", window(`"schedule":{"daily":{"intervalDays":2}},"startTime":"01:00","utcOffset":"-08:00"`), nil},
		{"absolute monthly", "aksManagedAutoUpgradeSchedule", window(`"schedule":{"absoluteMonthly":{"intervalMonths":1,"dayOfMonth":15}},"durationHours":24,"startTime":"00:00"`), nil},
		{"relative monthly", "aksManagedAutoUpgradeSchedule", window(`"schedule":{"relativeMonthly":{"intervalMonths":1,"weekIndex":"First","dayOfWeek":"Monday"}},"startTime":"00:00"`), nil},
		{"no window", "aksManagedAutoUpgradeSchedule", `{"timeInWeek":[{"day":"Monday"}]}`,
			bad("properties.maintenanceWindow", "Maintenance configuration aksManagedAutoUpgradeSchedule needs a maintenanceWindow.")},
		{"no schedule", "aksManagedNodeOSUpgradeSchedule", window(`"startTime":"00:00"`),
			bad("properties.maintenanceWindow.schedule", "Exactly one of daily, weekly, absoluteMonthly and relativeMonthly must be set.")},
		{"two schedules", "aksManagedNodeOSUpgradeSchedule", window(`"schedule":{"daily":{"intervalDays":1},"weekly":{"intervalWeeks":1,"dayOfWeek":"Sunday"}},"startTime":"00:00"`),
			bad("properties.maintenanceWindow.schedule", "Exactly one of daily, weekly, absoluteMonthly and relativeMonthly must be set.")},
		{"unknown schedule", "aksManagedNodeOSUpgradeSchedule", window(`"schedule":{"hourly":{}},"startTime":"00:00"`),
			bad("properties.maintenanceWindow.schedule", "Schedule type 'hourly' is not supported.")},
		{"duration 3", "aksManagedAutoUpgradeSchedule", window(weekly + `,"durationHours":3,"startTime":"00:00"`),
			bad("properties.maintenanceWindow.durationHours", "durationHours 3 must be between 4 and 24.")},
		{"duration 25", "aksManagedAutoUpgradeSchedule", window(weekly + `,"durationHours":25,"startTime":"00:00"`),
			bad("properties.maintenanceWindow.durationHours", "durationHours 25 must be between 4 and 24.")},
		{"no start time", "aksManagedAutoUpgradeSchedule", window(weekly),
			bad("properties.maintenanceWindow.startTime", "startTime '' must be HH:MM.")},
		{"short start time", "aksManagedAutoUpgradeSchedule", window(weekly + `,"startTime":"9:00"`),
			bad("properties.maintenanceWindow.startTime", "startTime '9:00' must be HH:MM.")},
		{"offset without a sign", "aksManagedAutoUpgradeSchedule", window(weekly + `,"startTime":"09:00","utcOffset":"05:30"`),
			bad("properties.maintenanceWindow.utcOffset", "utcOffset '05:30' must be +HH:MM or -HH:MM.")},
		{"short offset", "aksManagedAutoUpgradeSchedule", window(weekly + `,"startTime":"09:00","utcOffset":"+5:30"`),
			bad("properties.maintenanceWindow.utcOffset", "utcOffset '+5:30' must be +HH:MM or -HH:MM.")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := ValidateMaintenance(tt.config, json.RawMessage(tt.props))
			if tt.want == nil {
				if err != nil {
					t.Errorf("ValidateMaintenance = %v, want nil", err)
				}
				return
			}
			checkError(t, err, *tt.want)
		})
	}
}
