// The Pulumi program: the infrastructure is described in components/ and wired here.
export {};
