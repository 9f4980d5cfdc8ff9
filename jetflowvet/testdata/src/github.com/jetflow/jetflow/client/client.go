// Package client is a stub of jetflow's client package.
package client

import "context"

type Client struct{}

type WorkflowInstanceOptions struct{ InstanceID string }

type Instance struct{ InstanceID string }

type ScheduleOptions struct {
	ScheduleID string
	Workflow   any
	Args       []any
}

func (c *Client) CreateWorkflowInstance(ctx context.Context, opts WorkflowInstanceOptions, wf any, args ...any) (*Instance, error) {
	return nil, nil
}

func (c *Client) CreateSchedule(ctx context.Context, opts ScheduleOptions) error { return nil }
