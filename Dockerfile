# The example worker (examples/worker) as an image, for docker-compose.yml.
FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -o /out/worker ./examples/worker && \
    CGO_ENABLED=0 go build -o /out/wfctl ./cmd/wfctl

FROM gcr.io/distroless/static-debian12
COPY --from=build /out/worker /out/wfctl /usr/local/bin/
ENTRYPOINT ["/usr/local/bin/worker"]
