package directory

import (
	"errors"
	"testing"
)

func TestCheckProps(t *testing.T) {
	full := map[string]any{
		"accountEnabled": true, "displayName": "Ann", "mailNickname": "ann", "userPrincipalName": "ann@contoso.onmicrosoft.com",
		"passwordProfile": map[string]any{"password": "x"}, "BusinessPhones": []any{"1"}, "@odata.type": "#microsoft.graph.user",
	}
	got, err := CheckProps(KindUser, full, true, false)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := got["businessPhones"]; !ok {
		t.Error("property names are not matched case-insensitively")
	}
	if _, ok := got["@odata.type"]; ok {
		t.Error("an annotation was kept as a property")
	}
	cases := []struct {
		name  string
		props map[string]any
		msg   string
	}{
		{"missing required", map[string]any{"displayName": "A"}, "Invalid value specified for property 'accountEnabled' of resource 'User'."},
		{"unknown", map[string]any{"shoeSize": "9"}, "Property 'shoeSize' does not exist as a declared property or extension property."},
		{"read-only", map[string]any{"createdDateTime": "2020-01-01T00:00:00Z"}, "Property 'createdDateTime' is read-only and cannot be set."},
		{"id", map[string]any{"id": "x"}, "Property 'id' is read-only and cannot be set."},
		{"wrong type", map[string]any{"accountEnabled": "yes"}, "Invalid value specified for property 'accountEnabled' of resource 'User'."},
		{"bad collection", map[string]any{"businessPhones": []any{1.0}}, "Invalid value specified for property 'businessPhones' of resource 'User'."},
		{"bad date", map[string]any{"employeeHireDate": "yesterday"}, "Invalid value specified for property 'employeeHireDate' of resource 'User'."},
	}
	for _, tc := range cases {
		_, err := CheckProps(KindUser, tc.props, tc.name == "missing required", false)
		var de *Error
		if !errors.As(err, &de) || de.Message != tc.msg || !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: %v, want %q", tc.name, err, tc.msg)
		}
	}
	// Trusted writes (import) may set read-only properties.
	if _, err := CheckProps(KindUser, map[string]any{"createdDateTime": "2020-01-01T00:00:00Z"}, false, true); err != nil {
		t.Errorf("trusted read-only write: %v", err)
	}
}

func TestCheckUPNAndIDs(t *testing.T) {
	for _, ok := range []string{"a@b", "first.last@contoso.onmicrosoft.com", "guest_fabrikam.com#EXT#@contoso.onmicrosoft.com"} {
		if err := CheckUPN(ok); err != nil {
			t.Errorf("CheckUPN(%q) = %v", ok, err)
		}
	}
	for _, bad := range []string{"", "a", "@b", "a@", "a@b@c", "a b@c"} {
		if err := CheckUPN(bad); err == nil {
			t.Errorf("CheckUPN(%q) accepted", bad)
		}
	}
	if got := NormalizeID("7D54CB02-AAA3-4016-9F9C-A4B49422DD9B"); got != "7d54cb02-aaa3-4016-9f9c-a4b49422dd9b" {
		t.Errorf("NormalizeID = %q", got)
	}
	if got := NormalizeID("not-a-guid"); got != "not-a-guid" {
		t.Errorf("NormalizeID changed a non-GUID: %q", got)
	}
	for in, want := range map[string]Kind{"user": KindUser, "#microsoft.graph.orgContact": KindOrgContact, "graph.group": KindGroup, "microsoft.graph.user": KindUser} {
		if k, ok := ParseKind(in); !ok || k != want {
			t.Errorf("ParseKind(%q) = %q, %v", in, k, ok)
		}
	}
	if _, ok := ParseKind("device"); ok {
		t.Error("ParseKind accepted device")
	}
}
