"""RFC 4475 "SIP Torture Test Messages", rewritten from the RFC's descriptions.

Each case names the RFC section and its short name, the bytes (CRLF line ends, the
announced Content-Length matching the body unless the test is about the length), whether
:func:`cstaserver.sip.message.parse_datagram` accepts it (``parse_status`` None) or which
status its :class:`SipParseError` carries, and the status our endpoint answers when the
datagram reaches it (``answer``; None: silently dropped, as for responses nobody asked for).
"""

from __future__ import annotations

from attrs import frozen


@frozen
class TortureCase:
    name: str
    section: str
    data: bytes
    parse_status: int | None
    answer: int | None


SDP = (
    b"v=0\r\n"
    b"o=mhandley 29739 7272939 IN IP4 192.0.2.1\r\n"
    b"s=-\r\n"
    b"c=IN IP4 192.0.2.1\r\n"
    b"t=0 0\r\n"
    b"m=audio 49217 RTP/AVP 0 12\r\n"
    b"m=video 3227 RTP/AVP 31\r\n"
    b"a=rtpmap:31 LPC\r\n"
)
assert len(SDP) == 150


def build(head: str, body: bytes = b"", *, length: str | None = None) -> bytes:
    """CRLF-terminated lines from ``head`` (``{cl}`` becomes the body's length, or
    ``length``), a blank line, then ``body`` untouched."""
    text = head.strip("\n").replace("{cl}", length if length is not None else str(len(body)))
    return ("\r\n".join(text.split("\n")) + "\r\n\r\n").encode("utf-8") + body


WSINV = build(
    """
INVITE sip:vivekg@chair-dnrc.example.com;unknownparam SIP/2.0
TO :
 sip:vivekg@chair-dnrc.example.com ;   tag    = 1918181833n
from   : "J Rosenberg \\\\\\""       <sip:jdrosen@example.com>
  ;
  tag = 98asjd8
MaX-fOrWaRdS: 0068
Call-ID: wsinv.ndaksdj@192.0.2.1
Content-Length   : {cl}
cseq: 0009
  INVITE
Via  : SIP  /   2.0
 /UDP
    192.0.2.2;branch=390skdjuw
s :
NewFangledHeader:   newfangled value
 continued newfangled value
UnknownHeaderWithUnusualValue: ;;,,;;,;
Content-Type: application/sdp
Route:
 <sip:services.example.com;lr;unknownwith=value;unknown-no-value>
v:  SIP  / 2.0  / TCP     spindle.example.com   ;
  branch  =   z9hG4bK9ikj8  ,
 SIP  /    2.0   / UDP  192.168.255.111   ; branch=
 z9hG4bK30239
m:"Quoted string \\"\\"" <sip:jdrosen@example.com> ; newparam =
      newvalue ;
  secondparam ; q = 0.33
""",
    SDP,
)

INTMETH_METHOD = "!interesting-Method0123456789_*+`.%indeed'~"
INTMETH_URI = (
    "sip:1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*:&it+has=1,"
    "weird!*pas$wo~d_too.(doesn't-it)@example.com"
)
INTMETH = build(
    f"""
{INTMETH_METHOD} {INTMETH_URI} SIP/2.0
Via: SIP/2.0/TCP host1.example.com;branch=z9hG4bK-.!%66*_+`'~
To: "BEL:\\\x07 NUL:\\\x00 DEL:\\\x7f" <sip:1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*@example.com>
From: token1~` token2'+_ token3*%!.- <sip:mundane@example.com>;fromParam''~+*_!.-%="\u0440\u0430\u0431\u043e\u0442\u0430\u044e\u0449\u0438\u0439";tag=_token~1'+`*%!-.
Call-ID: intmeth.word%ZK-!.*_+'@word`~)(><:\\/"][?}}{{
CSeq: 139122385 {INTMETH_METHOD}
Max-Forwards: 255
extensionHeader-!.%*+_`'~:\ufeff\u5927\u505c\u96fb
Content-Length: {{cl}}
"""
)

ESC01 = build(
    """
INVITE sip:sips%3Auser%40example.com@example.net SIP/2.0
To: sip:%75se%72@example.com
From: <sip:I%20have%20spaces@example.net>;tag=938
Max-Forwards: 87
i: esc01.239409asdfakjkn23onasd0-3234
CSeq: 234234 INVITE
Via: SIP/2.0/UDP host5.example.net;branch=z9hG4bKkdjuw
C: application/sdp
Contact:
  <sip:cal%6Cer@host5.example.net;%6C%72;n%61me=v%61lue%25%34%31>
Content-Length: {cl}
""",
    SDP,
)

ESCNULL = build(
    """
REGISTER sip:example.com SIP/2.0
To: sip:null-%00-null@example.com
From: sip:null-%00-null@example.com;tag=839923423
Max-Forwards: 70
Call-ID: escnull.39203ndfvkjdasfkq3w4otrq0adsfdfnavd
CSeq: 14398234 REGISTER
Via: SIP/2.0/UDP host5.example.com;branch=z9hG4bKkdjuw
Contact: <sip:%00@host5.example.com>
Contact: <sip:%00%00@host5.example.com>
L:{cl}
"""
)

ESC02 = build(
    """
RE%47IST%45R sip:registrar.example.com SIP/2.0
To: "%Z%45" <sip:resource@example.com>
From: "%Z%45" <sip:resource@example.com>;tag=f232jadfj23
Call-ID: esc02.asdfnqwo34rq23i34jrjasdcnl23nrlknsdf
Via: SIP/2.0/TCP host.example.com;branch=z9hG4bK209%fzsnel234
CSeq: 29344 RE%47IST%45R
Max-Forwards: 70
Contact: <sip:alias1@host1.example.com>
C%6Fntact: <sip:alias2@host2.example.com>
Contact: <sip:alias3@host3.example.com>
l: {cl}
"""
)

LWSDISP = build(
    """
OPTIONS sip:user@example.com SIP/2.0
To: sip:user@example.com
From: caller<sip:caller@example.com>;tag=323
Max-Forwards: 70
Call-ID: lwsdisp.1234abcd@funky.example.com
CSeq: 60 OPTIONS
Via: SIP/2.0/UDP funky.example.com;branch=z9hG4bKkdjuw
l: {cl}
"""
)

_LONG = "long" * 20
LONGREQ_VIAS = [f"sip{n}.example.com" for n in range(33, 0, -1)]
LONGREQ = build(
    f"""
INVITE sip:user@example.com SIP/2.0
To: "I have a user name of {"extreme" * 10} proportion"<sip:user@example.com:6000;unknownparam1=very{_LONG}value;longparam{"name" * 25}=shortvalue;very{_LONG}ParameterNameWithNoValue>
F: sip:{"amazinglylongcallername" * 5}@example.net;tag=12{"982" * 40}424;unknownheaderparam{"name" * 20}=unknowheaderparam{"value" * 15};unknownValueless{"paramname" * 10}
Call-ID: longreq.one{"really" * 20}longcallid
CSeq: 3882340 INVITE
Unknown-{"Long" * 20}-Name: unknown-{_LONG}-value; unknown-{_LONG}-parameter-name = unknown-{_LONG}-parameter-value
"""
    + "".join(f"Via: SIP/2.0/TCP {host}\n" for host in LONGREQ_VIAS)
    + f"""Via: SIP/2.0/TCP host.example.com;received=192.0.2.5;branch=very{"long" * 50}branchvalue
Max-Forwards: 70
Contact: <sip:{"amazinglylongcallername" * 5}@host5.example.net>
Content-Type: application/sdp
l: {{cl}}
""",
    SDP,
)

DBLREQ = build(
    """
REGISTER sip:example.com SIP/2.0
To: sip:j.user@example.com
From: sip:j.user@example.com;tag=43251j3j324
Max-Forwards: 8
I: dblreq.0ha0isndaksdj99sdfafnl3lk233412
Contact: sip:j.user@host.example.com
CSeq: 8 REGISTER
Via: SIP/2.0/UDP 192.0.2.125;branch=z9hG4bKkdjuw23492
Content-Length: 0
"""
) + build(
    """
INVITE sip:joe@example.com SIP/2.0
t: sip:joe@example.com
From: sip:caller@example.net;tag=141334
Max-Forwards: 8
Call-ID: dblreq.0ha0isnda977644900765@192.0.2.15
CSeq: 8 INVITE
Via: SIP/2.0/UDP 192.0.2.15;branch=z9hG4bKkdjuw380234
Content-Type: application/sdp
Content-Length: {cl}
""",
    SDP,
)

SEMIURI = build(
    """
OPTIONS sip:user;par=u%40example.net@example.com SIP/2.0
To: sip:j_user@example.com
From: sip:caller@example.org;tag=33242
Max-Forwards: 3
Call-ID: semiuri.0ha0isndaksdj
CSeq: 8 OPTIONS
Accept: application/sdp, application/pkcs7-mime,
        multipart/mixed, multipart/signed,
        message/sip, message/sipfrag
Via: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bKkdjuw
l: {cl}
"""
)

TRANSPORTS = build(
    """
OPTIONS sip:user@example.com SIP/2.0
To: sip:user@example.com
From: <sip:caller@example.com>;tag=323
Max-Forwards: 70
Call-ID:  transports.kijh4akdnaqjkwendsasfdj
Accept: application/sdp
CSeq: 60 OPTIONS
Via: SIP/2.0/UDP t1.example.com;branch=z9hG4bKkdjuw
Via: SIP/2.0/SCTP t2.example.com;branch=z9hG4bKklasjdhf
Via: SIP/2.0/TLS t3.example.com;branch=z9hG4bK2980unddj
Via: SIP/2.0/UNKNOWN t4.example.com;branch=z9hG4bKasd0f3en
Via: SIP/2.0/TCP t5.example.com;branch=z9hG4bK0a9idfnee
l: {cl}
"""
)

# A multipart/signed body with binary content: CR, LF and NUL bytes that are not line
# ends, which a parser must carry through untouched.
MPART01_BODY = (
    b"------=_NextPart_000_0001\r\n"
    b"Content-Type: application/sdp\r\n\r\n" + SDP + b"\r\n"
    b"------=_NextPart_000_0001\r\n"
    b"Content-Type: application/pkcs7-signature; name=smime.p7s\r\n"
    b"Content-Transfer-Encoding: binary\r\n\r\n"
    b"0\x82\x01U\x06\t*\x86H\x86\xf7\r\x01\x07\x02\xa0\x82\x01F0\n\x00\r\x00\n\r\n\n\r"
    b"\r\n------=_NextPart_000_0001--\r\n"
)
MPART01 = build(
    """
MESSAGE sip:kumiko@example.org SIP/2.0
Via: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK-d87543-4dade06d0bdb11ee-1--d87543-;rport
Max-Forwards: 70
Route: <sip:127.0.0.1:5080>
Identity: r5mwreLuyDRYBi/0TiPwEsY3rEVsk/G2WxhgTV1PF7hHuLIK0YWVKZhKv9Mj8UeXqkMVbnVq37CD+813gvYjcBUaZngQmXc9WNZSDNGCzA+fWl9MEUHWIZo1CeJebdY/XlgKeTa0Olvq0rt70Q5jiSfbqMJmQFteeivUhkMWYUA=
Contact: <sip:fluffy@127.0.0.1:5070>
To: <sip:kumiko@example.org>
From: <sip:fluffy@example.com>;tag=2fb0dcc9
Call-ID: 3d9485ad0c49859b@Zmx1ZmZ5LW1hYy0xNi5sb2NhbA..
CSeq: 1 MESSAGE
Content-Transfer-Encoding: binary
Content-Type: multipart/mixed;boundary=---=_NextPart_000_0001
Date: Sat, 01 Feb 2014 22:07:34 GMT
User-Agent: SIPimp.org/0.2.5 (curses)
Content-Length: {cl}
""",
    MPART01_BODY,
)

UNREASON_PHRASE = (
    "= 2**3 * 5**2 \u043d\u043e \u0441\u0442\u043e \u0434\u0435\u0432\u044f\u043d\u043e"
    "\u0441\u0442\u043e \u0434\u0435\u0432\u044f\u0442\u044c - \u043f\u0440\u043e\u0441"
    "\u0442\u043e\u0435"
)
UNREASON = build(
    f"""
SIP/2.0 200 {UNREASON_PHRASE}
Via: SIP/2.0/UDP 192.0.2.198;branch=z9hG4bK1324923
Call-ID: unreason.1234ksdfak3j2erwedfsASdf
CSeq: 35 INVITE
From: sip:user@example.com;tag=11141343
To: sip:user@example.edu;tag=2229
Content-Length: {{cl}}
Content-Type: application/sdp
Contact: <sip:user@host198.example.com>
""",
    SDP,
)

NOREASON = build(
    """
SIP/2.0 100\x20
Via: SIP/2.0/UDP 192.0.2.105;branch=z9hG4bK2398ndaoe
Call-ID: noreason.asndj203insdf99223ndf
CSeq: 35 INVITE
From: <sip:user@example.com>;tag=39ansfi3
To: <sip:user@example.edu>;tag=902jndnke3
Content-Length: {cl}
Contact: <sip:user@host105.example.com>
"""
)

BADINV01 = build(
    """
INVITE sip:user@example.com SIP/2.0
To: sip:j.user@example.com
From: sip:caller@example.net;tag=134161461246
Max-Forwards: 7
Call-ID: badinv01.0ha0isndaksdjasdf3234nas
CSeq: 8 INVITE
Via: SIP/2.0/UDP 192.0.2.15;;,;,,
Contact: "Joe" <sip:joe@example.org>;;;;
Content-Length: {cl}
Content-Type: application/sdp
""",
    SDP,
)

CLERR = build(
    """
INVITE sip:user@example.com SIP/2.0
Max-Forwards: 80
To: sip:j.user@example.com
From: sip:caller@example.net;tag=93942939o2
Contact: <sip:caller@hungry.example.net>
Call-ID: clerr.0ha0isndaksdjweiafasdk3
CSeq: 8 INVITE
Via: SIP/2.0/UDP host5.example.com;branch=z9hG4bK-39234-23523
Content-Type: application/sdp
Content-Length: {cl}
""",
    SDP,
    length="9999",
)

NCL = build(
    """
INVITE sip:user@example.com SIP/2.0
Max-Forwards: 254
To: sip:j.user@example.com
From: sip:caller@example.net;tag=32394234
Call-ID: ncl.0ha0isndaksdj2193423r542w35
CSeq: 0 INVITE
Via: SIP/2.0/UDP 192.0.2.53;branch=z9hG4bKkdjuw
Contact: <sip:caller@example53.example.net>
Content-Type: application/sdp
Content-Length: {cl}
""",
    SDP,
    length="-999",
)

SCALAR02 = build(
    f"""
REGISTER sip:example.com SIP/2.0
Via: SIP/2.0/TCP host129.example.com;branch=z9hG4bK342sdfoi3
To: <sip:user@example.com>
From: <sip:user@example.com>;tag=239232jh3
CSeq: 36893488147419103232 REGISTER
Call-ID: scalar02.23o0pd9vanlq3wnrlnewofjas9ui32
Max-Forwards: 300
Expires: 1{"0" * 100}
Contact: <sip:user@host129.example.com>
  ;expires=280297596632815
Content-Length: {{cl}}
"""
)

SCALARLG = build(
    """
SIP/2.0 503 Service Unavailable
Via: SIP/2.0/TCP host129.example.com;branch=z9hG4bKzzxdiwo34sw;received=192.0.2.129
To: <sip:user@example.com>
From: <sip:other@example.net>;tag=2easdjfejw
CSeq: 9292394834772304023312 OPTIONS
Call-ID: scalarlg.noase0of0234hn2qofoaf0232aewf2394r
Retry-After: 949302838503028349304023988
Warning: 1812 overture "In Progress"
Content-Length: {cl}
"""
)

QUOTBAL = build(
    """
INVITE sip:user@example.com SIP/2.0
To: "Mr. J. User <sip:j.user@example.com>
From: sip:caller@example.net;tag=93334
Max-Forwards: 10
Call-ID: quotbal.aksdj
Contact: <sip:caller@host59.example.net>
CSeq: 8 INVITE
Via: SIP/2.0/UDP 192.0.2.59:5050;branch=z9hG4bKkdjuw39234
Content-Type: application/sdp
Content-Length: {cl}
""",
    SDP,
)

LTGTRURI = build(
    """
INVITE <sip:user@example.com> SIP/2.0
To: sip:user@example.com
From: sip:caller@example.net;tag=39291
Max-Forwards: 23
Call-ID: ltgtruri.1@192.0.2.5
CSeq: 1 INVITE
Via: SIP/2.0/UDP 192.0.2.5
Contact: <sip:caller@host5.example.net>
Content-Type: application/sdp
Content-Length: {cl}
""",
    SDP,
)

LWSRURI = build(
    """
INVITE sip:user@example.com; lr SIP/2.0
To: sip:user@example.com;tag=3xfe-9921883-z9f
From: sip:caller@example.net;tag=231413434
Max-Forwards: 5
Call-ID: lwsruri.asdfasdoeoi2323-asdfwrn23-asd834rk423
CSeq: 2130706432 INVITE
Via: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bKkdjuw2395
Contact: <sip:caller@host1.example.net>
Content-Type: application/sdp
Content-Length: {cl}
""",
    SDP,
)

LWSSTART = build(
    """
INVITE  sip:user@example.com  SIP/2.0
Max-Forwards: 8
To: sip:user@example.com
From: sip:caller@example.net;tag=8814
Call-ID: lwsstart.dfknq234oi243099adsdfnawe3@example.com
CSeq: 1893884 INVITE
Via: SIP/2.0/UDP host1.example.com;branch=z9hG4bKkdjuw3923
Contact: <sip:caller@host1.example.net>
Content-Type: application/sdp
Content-Length: {cl}
""",
    SDP,
)

TRWS = build(
    """
OPTIONS sip:remote-target@example.com SIP/2.0 \x20
Via: SIP/2.0/TCP host1.examle.com;branch=z9hG4bK299342093
To: <sip:remote-target@example.com>
From: <sip:local-resource@example.com>;tag=329429089
Call-ID: trws.oicu34958239neffasdhr2345r
Accept: application/sdp
CSeq: 238923 OPTIONS
Max-Forwards: 70
Content-Length: {cl}
"""
)

ESCRURI = build(
    """
INVITE sip:user@example.com?Route=%3Csip:example.com%3E SIP/2.0
To: sip:user@example.com
From: sip:caller@example.net;tag=341518
Max-Forwards: 7
Contact: <sip:caller@host39923.example.net>
Call-ID: escruri.23940-asdfhj-aje3br-234q098w-fawerh2q-h4n5
CSeq: 149209342 INVITE
Via: SIP/2.0/UDP host-of-the-hour.example.com;branch=z9hG4bKkdjuw
Content-Type: application/sdp
Content-Length: {cl}
""",
    SDP,
)

BADDATE = build(
    """
INVITE sip:user@example.com SIP/2.0
To: sip:user@example.com
From: sip:caller@example.net;tag=2234923
Max-Forwards: 70
Call-ID: baddate.239423mnsadf3j23lj42--sedfnm234
CSeq: 1392934 INVITE
Via: SIP/2.0/UDP host.example.com;branch=z9hG4bKkdjuw
Date: Fri, 01 Jan 2010 16:00:00 EST
Contact: <sip:caller@host5.example.net>
Content-Type: application/sdp
Content-Length: {cl}
""",
    SDP,
)

REGBADCT = build(
    """
REGISTER sip:example.com SIP/2.0
To: sip:user@example.com
From: sip:user@example.com;tag=998332
Max-Forwards: 70
Call-ID: regbadct.k345asrl3fdbv@10.0.0.1
CSeq: 1 REGISTER
Via: SIP/2.0/UDP 135.180.130.133:5060;branch=z9hG4bKkdjuw
Contact: sip:user@example.com?Route=%3Csip:sip.example.com%3E
l: {cl}
"""
)

BADASPEC = build(
    """
OPTIONS sip:user@example.org SIP/2.0
Via: SIP/2.0/UDP host4.example.com:5060;branch=z9hG4bKkdju43234
Max-Forwards: 70
From: "Bell, Alexander" <sip:a.g.bell@example.com>;tag=433423
To: "Watson, Thomas" < sip:t.watson@example.org >
Call-ID: badaspec.sdf0234n2nds0a099u23h3hnnw009cdkne3
Accept: application/sdp
CSeq: 3923239 OPTIONS
l: {cl}
"""
)

BADDN = build(
    """
OPTIONS sip:t.watson@example.org SIP/2.0
Via:     SIP/2.0/UDP c.example.com:5060;branch=z9hG4bKkdjuw
Max-Forwards:      70
From:    Bell, Alexander <sip:a.g.bell@example.com>;tag=43
To:      Watson, Thomas <sip:t.watson@example.org>
Call-ID: baddn.31415@c.example.com
Accept: application/sdp
CSeq:    3923239 OPTIONS
l: {cl}
"""
)

BADVERS = build(
    """
OPTIONS sip:t.watson@example.org SIP/7.0
Via:     SIP/7.0/UDP c.example.com;branch=z9hG4bKkdjuw
Max-Forwards:     70
From:    A. Bell <sip:a.g.bell@example.com>;tag=qweoiqpe
To:      T. Watson <sip:t.watson@example.org>
Call-ID: badvers.31417@c.example.com
CSeq:    1 OPTIONS
l: {cl}
"""
)

MISMATCH01 = build(
    """
OPTIONS sip:user@example.com SIP/2.0
To: sip:j.user@example.com
From: sip:caller@example.net;tag=34525
Max-Forwards: 6
Call-ID: mismatch01.dj0234sxdfl3
CSeq: 8 INVITE
Via: SIP/2.0/UDP host.example.com;branch=z9hG4bKkdjuw
l: {cl}
"""
)

MISMATCH02 = build(
    """
NEWMETHOD sip:user@example.com SIP/2.0
To: sip:j.user@example.com
From: sip:caller@example.net;tag=34525
Max-Forwards: 6
Call-ID: mismatch02.dj0234sxdfl3
CSeq: 8 INVITE
Contact: <sip:caller@host.example.net>
Via: SIP/2.0/UDP host.example.net;branch=z9hG4bKkdjuw
Content-Type: application/sdp
l: {cl}
""",
    SDP,
)

BIGCODE = build(
    """
SIP/2.0 4294967301 better not break the receiver
Via: SIP/2.0/UDP 192.0.2.105;branch=z9hG4bK2398ndaoe
Call-ID: bigcode.asdof3uj203asdnf3429uasdhfas3ehjasdfas9i
CSeq: 353494 INVITE
From: <sip:user@example.com>;tag=39ansfi3
To: <sip:user@example.edu>;tag=902jndnke3
Content-Length: {cl}
Contact: <sip:user@host105.example.com>
"""
)

BADBRANCH = build(
    """
OPTIONS sip:user@example.com SIP/2.0
To: sip:user@example.com
From: sip:caller@example.org;tag=33242
Max-Forwards: 3
Via: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK
Accept: application/sdp
Call-ID: badbranch.sadonfo23i420jv0as0derf3j3n
CSeq: 8 OPTIONS
l: {cl}
"""
)

INSUF = build(
    """
INVITE sip:user@example.com SIP/2.0
CSeq: 193942 INVITE
Via: SIP/2.0/UDP 192.0.2.95;branch=z9hG4bKkdj.insuf
Content-Type: application/sdp
l: {cl}
""",
    SDP,
)

UNKSCM = build(
    """
OPTIONS nobodyKnowsThisScheme:totallyopaquecontent SIP/2.0
To: sip:user@example.com
From: sip:caller@example.net;tag=384
Max-Forwards: 3
Call-ID: unkscm.nasdfasser0q239nwsdfasdkl34
CSeq: 3923423 OPTIONS
Via: SIP/2.0/TCP host9.example.com;branch=z9hG4bKkdjuw39234
Content-Length: {cl}
"""
)

NOVELSC = build(
    """
OPTIONS soap.beep://192.0.2.103:3002 SIP/2.0
To: sip:user@example.com
From: sip:caller@example.net;tag=384
Max-Forwards: 3
Call-ID: novelsc.asdfasser0q239nwsdfasdkl34
CSeq: 3923423 OPTIONS
Via: SIP/2.0/TCP host9.example.com;branch=z9hG4bKkdjuw39234
Content-Length: {cl}
"""
)

UNKSM2 = build(
    """
REGISTER sip:example.com SIP/2.0
To: isbn:2983792873
From: <http://www.example.com>;tag=3234233
Call-ID: unksm2.daksdj@hyphenated-host.example.com
CSeq: 234902 REGISTER
Max-Forwards: 70
Via: SIP/2.0/UDP 192.0.2.21:5060;branch=z9hG4bKkdjuw
Contact: <name:John_Smith>
l: {cl}
"""
)

BEXT01 = build(
    """
OPTIONS sip:user@example.com SIP/2.0
To: sip:j_user@example.com
From: sip:caller@example.net;tag=242etr
Max-Forwards: 6
Call-ID: bext01.0ha0isndaksdj
Require: nothingSupportsThis, nothingSupportsThisEither
Proxy-Require: noProxiesSupportThis, norDoAnyProxiesSupportThis
CSeq: 8 OPTIONS
Via: SIP/2.0/TLS fold-and-staple.example.com;branch=z9hG4bKkdjuw
Content-Length: {cl}
"""
)

INVUT = build(
    """
INVITE sip:user@example.com SIP/2.0
Contact: <sip:caller@host5.example.net>
To: sip:j.user@example.com
From: sip:caller@example.net;tag=8392034
Max-Forwards: 70
Call-ID: invut.0ha0isndaksdjadsfij34n23d
CSeq: 235448 INVITE
Via: SIP/2.0/UDP somehost.example.com;branch=z9hG4bKkdjuw
Content-Type: application/unknownformat
Content-Length: {cl}
""",
    b'<audio>\r\n <pcmu port="443"/>\r\n</audio>\r\n',
)

REGAUT01 = build(
    """
REGISTER sip:example.com SIP/2.0
To: sip:j.user@example.com
From: sip:j.user@example.com;tag=87321hj23128
Max-Forwards: 8
Call-ID: regaut01.0ha0isndaksdj
CSeq: 9338 REGISTER
Via: SIP/2.0/TCP 192.0.2.253;branch=z9hG4bKkdjuw
Authorization: NoOneKnowsThisScheme opaque-data=here
Content-Length:{cl}
"""
)

MULTI01 = build(
    """
INVITE sip:user@company.com SIP/2.0
Contact: <sip:caller@host25.example.net>
Via: SIP/2.0/UDP 192.0.2.25;branch=z9hG4bKkdjuw
Max-Forwards: 70
CSeq: 5 INVITE
Call-ID: multi01.98asdh@192.0.2.1
CSeq: 59 INVITE
Call-ID: multi01.98asdh@192.0.2.2
From: sip:caller@example.com;tag=3413415
To: sip:user@example.com
To: sip:other@example.net
From: sip:caller@example.net;tag=2923420123
Content-Type: application/sdp
l: {cl}
Contact: <sip:caller@host36.example.net>
Max-Forwards: 5
""",
    SDP,
)

MCL01 = build(
    """
OPTIONS sip:user@example.com SIP/2.0
Via: SIP/2.0/UDP host5.example.net;branch=z9hG4bK293423
To: sip:user@example.com
From: sip:other@example.net;tag=3923942
Call-ID: mcl01.fhn2323orihawfdoa3o4r52o3irsdf
CSeq: 15932 OPTIONS
Content-Length: 13
Max-Forwards: 60
Content-Length: 5
Content-Type: text/plain
""",
    b"There's no way to know how many octets are supposed to be here.\r\n",
)

ZEROMF = build(
    """
OPTIONS sip:user@example.com SIP/2.0
To: sip:user@example.com
From: sip:caller@example.net;tag=3ghsd41
Call-ID: zeromf.jfasdlfnm2o2l43r5u0asdfas
CSeq: 39234321 OPTIONS
Via: SIP/2.0/UDP host1.example.com;branch=z9hG4bKkdjuw2349i
Max-Forwards: 0
Content-Length: {cl}
"""
)

INV2543 = (
    b"INVITE sip:UserB@example.com SIP/2.0\r\n"
    b"Via: SIP/2.0/UDP iftgw.example.com\r\n"
    b"From: <sip:+13035551111@ift.client.example.net;user=phone>\r\n"
    b"Record-Route: <sip:UserB@example.com;maddr=ss1.example.com>\r\n"
    b"To: sip:+16505552222@ss1.example.net;user=phone\r\n"
    b"Call-ID: inv2543.1717@ift.client.example.com\r\n"
    b"CSeq: 56 INVITE\r\n"
    b"Content-Type: application/sdp\r\n"
    b"\r\n"
) + SDP

REGESCRT = build(
    """
REGISTER sip:example.com SIP/2.0
To: sip:user@example.com
From: sip:user@example.com;tag=8
Max-Forwards: 70
Call-ID: regescrt.k345asrl3fdbv@192.0.2.1
CSeq: 14398234 REGISTER
Via: SIP/2.0/UDP host5.example.com;branch=z9hG4bKkdjuw
M: <sip:user@example.com?Route=%3Csip:sip.example.com%3E>
L:{cl}
"""
)

CASES = (
    # 3.1.1 valid messages
    TortureCase("wsinv", "3.1.1.1", WSINV, None, 415),
    TortureCase("intmeth", "3.1.1.2", INTMETH, None, 405),
    TortureCase("esc01", "3.1.1.3", ESC01, None, 415),
    TortureCase("escnull", "3.1.1.4", ESCNULL, None, 405),
    TortureCase("esc02", "3.1.1.5", ESC02, None, 405),
    TortureCase("lwsdisp", "3.1.1.6", LWSDISP, None, 200),
    TortureCase("longreq", "3.1.1.7", LONGREQ, None, 415),
    TortureCase("dblreq", "3.1.1.8", DBLREQ, None, 405),
    TortureCase("semiuri", "3.1.1.9", SEMIURI, None, 200),
    TortureCase("transports", "3.1.1.10", TRANSPORTS, None, 200),
    TortureCase("mpart01", "3.1.1.11", MPART01, None, 405),
    TortureCase("unreason", "3.1.1.12", UNREASON, None, None),
    TortureCase("noreason", "3.1.1.13", NOREASON, None, None),
    # 3.1.2 invalid messages
    TortureCase("badinv01", "3.1.2.1", BADINV01, 400, 400),
    TortureCase("clerr", "3.1.2.2", CLERR, 400, 400),
    TortureCase("ncl", "3.1.2.3", NCL, 400, 400),
    TortureCase("scalar02", "3.1.2.4", SCALAR02, 400, 400),
    TortureCase("scalarlg", "3.1.2.5", SCALARLG, 400, None),
    TortureCase("quotbal", "3.1.2.6", QUOTBAL, 400, 400),
    TortureCase("ltgtruri", "3.1.2.7", LTGTRURI, 400, 400),
    TortureCase("lwsruri", "3.1.2.8", LWSRURI, 400, 400),
    TortureCase("lwsstart", "3.1.2.9", LWSSTART, 400, 400),
    TortureCase("trws", "3.1.2.10", TRWS, 400, 400),
    TortureCase("escruri", "3.1.2.11", ESCRURI, 400, 400),
    TortureCase("baddate", "3.1.2.12", BADDATE, 400, 400),
    TortureCase("regbadct", "3.1.2.13", REGBADCT, 400, 400),
    TortureCase("badaspec", "3.1.2.14", BADASPEC, 400, 400),
    TortureCase("baddn", "3.1.2.15", BADDN, 400, 400),
    TortureCase("badvers", "3.1.2.16", BADVERS, 505, 505),
    TortureCase("mismatch01", "3.1.2.17", MISMATCH01, 400, 400),
    TortureCase("mismatch02", "3.1.2.18", MISMATCH02, 400, 400),
    TortureCase("bigcode", "3.1.2.19", BIGCODE, 400, None),
    # 3.3 transaction layer semantics: fall back to RFC 2543 matching
    TortureCase("badbranch", "3.3", BADBRANCH, None, 200),
    # 3.4 application layer semantics
    TortureCase("insuf", "3.4", INSUF, 400, 400),
    TortureCase("unkscm", "3.4", UNKSCM, None, 416),
    TortureCase("novelsc", "3.4", NOVELSC, None, 416),
    TortureCase("unksm2", "3.4", UNKSM2, None, 405),
    TortureCase("bext01", "3.4", BEXT01, None, 420),
    TortureCase("invut", "3.4", INVUT, None, 415),
    TortureCase("regaut01", "3.4", REGAUT01, None, 405),
    TortureCase("multi01", "3.4", MULTI01, 400, 400),
    TortureCase("mcl01", "3.4", MCL01, 400, 400),
    TortureCase("zeromf", "3.4", ZEROMF, None, 200),
    TortureCase("regescrt", "3.4", REGESCRT, None, 405),
    # 3.5 backward compatibility (RFC 2543: no branch, no Max-Forwards, no Content-Length)
    TortureCase("inv2543", "3.5", INV2543, None, 415),
)
