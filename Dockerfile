# One image per function, for those who build with Docker (without it:
# `make images` writes the same images as tarballs).
#   docker build --build-arg FUNCTION=create-task -t registry.example.com/todo/create-task .
# The binary is static (time zones and TLS roots compiled in), so the final
# stage is an empty base with only that file, run as an unprivileged user.
ARG GO_VERSION=1.26.8

FROM golang:${GO_VERSION} AS build
ARG FUNCTION
WORKDIR /src
COPY . .
RUN test -n "$FUNCTION" && test -d "functions/$FUNCTION" || { echo "--build-arg FUNCTION=<a directory of functions/>" >&2; exit 1; }
# go.work builds the function against this checkout's shared module.
RUN CGO_ENABLED=0 go build -trimpath -ldflags="-s -w -buildid=" -o /out/app "./functions/$FUNCTION/cmd"

FROM scratch
COPY --from=build /out/app /app
USER 65532:65532
ENV PORT=8080
EXPOSE 8080
ENTRYPOINT ["/app"]
