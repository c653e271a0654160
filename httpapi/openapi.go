package httpapi

import (
	"encoding/json"
	"net/http"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"time"
)

var pathParam = regexp.MustCompile(`\{([a-zA-Z_]+)(?:\.\.\.)?\}`)

// openAPIPath turns a ServeMux pattern into an OpenAPI path: "/{$}" (the
// root only) is "/", "{file...}" (the rest of the path) is "{file}".
func openAPIPath(p string) string {
	if p == "/{$}" {
		return "/"
	}
	return strings.ReplaceAll(p, "...}", "}")
}

// OpenAPI returns the OpenAPI 3 document of the route table: every route,
// its parameters, body, success response, the roles allowed
// (x-muster-roles) and the error responses its access implies.
func (s *Server) OpenAPI() map[string]any {
	paths := map[string]any{}
	for i := range s.routes {
		rt := &s.routes[i]
		item, _ := paths[openAPIPath(rt.Path)].(map[string]any)
		if item == nil {
			item = map[string]any{}
			paths[openAPIPath(rt.Path)] = item
		}
		var params []any
		for _, m := range pathParam.FindAllStringSubmatch(rt.Path, -1) {
			params = append(params, map[string]any{"name": m[1], "in": "path", "required": true, "schema": map[string]any{"type": "string"}})
		}
		for _, q := range rt.Query {
			params = append(params, map[string]any{"name": q, "in": "query", "required": false, "schema": map[string]any{"type": "string"}})
		}
		errRef := map[string]any{"content": map[string]any{mediaJSON: map[string]any{"schema": map[string]any{"$ref": "#/components/schemas/Error"}}}}
		withDesc := func(d string) map[string]any {
			m := map[string]any{"description": d}
			for k, v := range errRef {
				m[k] = v
			}
			return m
		}
		okContent := map[string]any{}
		if rt.Out != nil {
			okContent["schema"] = schemaOf(reflect.TypeOf(rt.Out), false)
		}
		responses := map[string]any{
			strconv.Itoa(rt.OK): map[string]any{"description": http.StatusText(rt.OK),
				"content": map[string]any{rt.Produces: okContent}},
		}
		op := map[string]any{
			"operationId": operationID(rt),
			"summary":     rt.Summary,
			"responses":   responses,
		}
		if params != nil {
			op["parameters"] = params
		}
		if rt.Body != "" {
			bodyContent := map[string]any{}
			if rt.In != nil {
				bodyContent["schema"] = schemaOf(reflect.TypeOf(rt.In), true)
			}
			op["requestBody"] = map[string]any{"required": true, "content": map[string]any{rt.Body: bodyContent}}
			responses["400"] = withDesc("Invalid input: the message says where and why")
			responses["413"] = withDesc("Request body too large")
		}
		switch rt.Access {
		case Operator:
			op["security"] = []any{map[string]any{"bearer": []any{}}}
			op["x-muster-roles"] = rt.Roles
			responses["401"] = withDesc("No valid token")
			responses["403"] = withDesc("The token's role may not call this")
			responses["429"] = withDesc("Rate limited")
		case Capability:
			op["security"] = []any{}
			responses["404"] = withDesc("Link unknown, expired or revoked")
		default:
			op["security"] = []any{}
		}
		if strings.Contains(rt.Path, "{id}") {
			responses["404"] = withDesc("Not found")
		}
		if rt.Method == "PUT" || strings.HasSuffix(rt.Path, "/status") {
			responses["409"] = withDesc("Changed since the version given")
		}
		item[strings.ToLower(rt.Method)] = op
	}
	return map[string]any{
		"openapi": "3.0.3",
		"info": map[string]any{
			"title":       "muster",
			"version":     "1",
			"description": "The muster server: evacuee registry, threat reports and picture, operator accounts, audit log.",
		},
		"paths": paths,
		"components": map[string]any{
			"securitySchemes": map[string]any{"bearer": map[string]any{"type": "http", "scheme": "bearer"}},
			"schemas": map[string]any{
				"Error": map[string]any{
					"type": "object", "required": []any{"error"},
					"properties": map[string]any{"error": map[string]any{
						"type": "object", "required": []any{"code", "message"},
						"properties": map[string]any{
							"code":    map[string]any{"type": "string"},
							"message": map[string]any{"type": "string"},
							"details": map[string]any{},
						},
					}},
				},
			},
		},
	}
}

// operationID is "getApiHouseholdsId" for GET /api/households/{id}.
func operationID(rt *Route) string {
	var b strings.Builder
	b.WriteString(strings.ToLower(rt.Method))
	for _, part := range strings.FieldsFunc(openAPIPath(rt.Path), func(r rune) bool { return r == '/' || r == '{' || r == '}' || r == '.' || r == '_' }) {
		b.WriteString(strings.ToUpper(part[:1]) + part[1:])
	}
	return b.String()
}

func (s *Server) openapi(w http.ResponseWriter, r *http.Request, _ *caller) error {
	writeJSON(w, http.StatusOK, s.OpenAPI())
	return nil
}

var (
	timeType = reflect.TypeOf(time.Time{})
	rawType  = reflect.TypeOf(json.RawMessage{})
)

// schemaOf is the JSON schema of what encoding/json makes of t: field
// names from the json tags, a field without omitempty or omitzero always present
// (required) in a response, and, for a request, no property beyond those
// listed, as the strict decoder enforces.
func schemaOf(t reflect.Type, request bool) map[string]any {
	nullable := false
	for t.Kind() == reflect.Pointer {
		t, nullable = t.Elem(), true
	}
	var sch map[string]any
	switch {
	case t == timeType:
		sch = map[string]any{"type": "string", "format": "date-time"}
	case t == rawType:
		sch = map[string]any{} // any JSON value
	default:
		switch t.Kind() {
		case reflect.String:
			sch = map[string]any{"type": "string"}
		case reflect.Bool:
			sch = map[string]any{"type": "boolean"}
		case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
			reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
			sch = map[string]any{"type": "integer"}
		case reflect.Float32, reflect.Float64:
			sch = map[string]any{"type": "number"}
		case reflect.Slice, reflect.Array:
			sch = map[string]any{"type": "array", "items": schemaOf(t.Elem(), request)}
			nullable = nullable || request // a request may send null for an empty list
		case reflect.Map:
			sch = map[string]any{"type": "object", "additionalProperties": schemaOf(t.Elem(), request)}
		case reflect.Struct:
			props := map[string]any{}
			var required []any
			for i := range t.NumField() {
				f := t.Field(i)
				if !f.IsExported() {
					continue
				}
				name, opts, _ := strings.Cut(f.Tag.Get("json"), ",")
				if name == "-" {
					continue
				}
				if name == "" {
					name = f.Name
				}
				props[name] = schemaOf(f.Type, request)
				if !request && !strings.Contains(opts, "omitempty") && !strings.Contains(opts, "omitzero") {
					required = append(required, name)
				}
			}
			sch = map[string]any{"type": "object", "properties": props}
			if len(required) > 0 {
				sch["required"] = required
			}
			if request {
				sch["additionalProperties"] = false
			}
		default:
			sch = map[string]any{}
		}
	}
	if nullable && len(sch) > 0 {
		sch["nullable"] = true
	}
	return sch
}
