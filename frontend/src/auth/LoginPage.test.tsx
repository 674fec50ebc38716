import { safeNext } from "./LoginPage";

describe("safeNext", () => {
  it.each([
    [null, "/templates"],
    ["/deployments/7", "/deployments/7"],
    ["https://evil.example/", "/templates"],
    ["//evil.example/", "/templates"],
    ["/\\evil.example", "/templates"],
  ])("%s → %s", (raw, expected) => {
    expect(safeNext(raw)).toBe(expected);
  });
});
